"""A receptionist's day with a patient record, in a real browser: create, a duplicate
warning, an edit with a typing mistake, and WhatsApp consent given then withdrawn."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.db.models import Max
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from tenant_apps.patients.models import Patient, PatientNumberCounter
from tests.browser.conftest import LiveSite, _in_a_connection_of_its_own
from tests.browser.test_shell import sign_in
from tests.conftest import World

RECEPTIONIST_A = "reception@clinic-a.example"
LAST_NAME = "Browserton"


@pytest.fixture
def patients_cleanup(world: World) -> Iterator[None]:
    """Removes the patients the server committed, and gives their numbers back.

    Requested first, so it runs last (after the browser contexts are closed). The audit
    rows stay: the trail is append-only, and they name only ids.
    """
    yield

    def undo() -> None:
        with schema_context(world.clinic_a.schema_name):  # type: ignore[attr-defined]
            Patient.objects.filter(last_name=LAST_NAME).delete()  # consents cascade
            last = Patient.objects.aggregate(last=Max("sequence"))["last"] or 0
            PatientNumberCounter.objects.filter(pk=1).update(last_number=last)

    _in_a_connection_of_its_own(undo)


def new_patient(page: Page, site: LiveSite, first_name: str, phone: str) -> None:
    page.goto(site.clinic_url("clinic-a", "/patients/new/"))
    page.get_by_label("First name").fill(first_name)
    page.get_by_label("Last name").fill(LAST_NAME)
    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_label("Mobile phone").fill(phone)
    page.get_by_role("button", name="Create patient").click()


@pytest.mark.browser
def test_a_receptionist_creates_edits_and_records_consent(
    patients_cleanup: None, page: Page, live_site: LiveSite
) -> None:
    sign_in(page, live_site, RECEPTIONIST_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))

    new_patient(page, live_site, "Bea", "07911 123456")
    expect(page).to_have_url(re.compile(r"/patients/\d+/$"))
    expect(page.get_by_test_id("patient-name")).to_have_text("Bea Browserton")
    first_url = page.url
    first_number = page.get_by_test_id("patient-number").inner_text()
    assert re.fullmatch(r"P-\d{6}", first_number)

    # Same phone, typed another way: the form warns before saving anything.
    new_patient(page, live_site, "Cal", "+44 7911 123456")
    duplicates = page.get_by_test_id("duplicates")
    expect(duplicates).to_be_visible()
    expect(duplicates.get_by_role("link")).to_have_text(f"{first_number} Bea Browserton")
    assert duplicates.get_by_role("link").get_attribute("href") in first_url
    page.get_by_label("This is a different person: create anyway").check()
    page.get_by_role("button", name="Create anyway").click()
    expect(page.get_by_test_id("patient-name")).to_have_text("Cal Browserton")
    assert page.url != first_url

    # An edit with a mistake shows the error by the field and keeps the typing.
    page.get_by_test_id("edit-link").click()
    page.get_by_label("Mobile phone").fill("12345")
    page.get_by_label("Preferred name").fill("Callie")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".field-error")).to_have_count(1)
    expect(page.locator(".field-error")).to_contain_text("phone number")
    expect(page.get_by_label("Preferred name")).to_have_value("Callie")
    page.get_by_label("Mobile phone").fill("07400 123456")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("patient-name")).to_have_text("Cal (Callie) Browserton")
    expect(page.get_by_test_id("patient-header")).to_contain_text("+447400123456")

    # WhatsApp: an opt-in must say how it was given; an opt-out is one click.
    opt_in = page.get_by_test_id("opt-in-form")
    opt_in.get_by_label("Channel").select_option("whatsapp")
    opt_in.get_by_role("button", name="Record opt-in").click()
    expect(page.get_by_test_id("opt-in-form").locator(".field-error")).to_contain_text(
        "Say how the patient agreed"
    )
    opt_in = page.get_by_test_id("opt-in-form")
    opt_in.get_by_label("Channel").select_option("whatsapp")
    opt_in.get_by_label("How the patient agreed").select_option("in_person")
    opt_in.get_by_role("button", name="Record opt-in").click()
    expect(page.get_by_test_id("consent-whatsapp-answer")).to_have_text("Opted in")
    page.get_by_test_id("opt-out-whatsapp").click()
    expect(page.get_by_test_id("consent-whatsapp-answer")).to_have_text("Opted out")
    history = page.get_by_test_id("consent-history").locator("li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("WhatsApp · opted out")
    expect(history.nth(1)).to_contain_text("WhatsApp · opted in (In person)")
