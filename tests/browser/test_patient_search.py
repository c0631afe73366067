"""Searching patients as you type, in a real browser: results change with each pause in
typing, the address follows the search (so reload and back work), and archived records
appear only when asked for."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.db.models import Max
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from tenant_apps.patients.models import Patient, PatientNumberCounter
from tenant_apps.patients.services import PatientInput, patient_archive, patient_create
from tests.browser.conftest import LiveSite, _in_a_connection_of_its_own
from tests.browser.test_shell import sign_in
from tests.conftest import World

RECEPTIONIST_A = "reception@clinic-a.example"
LAST_NAME = "Searchwell"


@pytest.fixture
def searchable_patients(world: World) -> Iterator[None]:
    """Three committed patients the live server can see; removed afterwards."""
    schema = world.clinic_a.schema_name  # type: ignore[attr-defined]

    def seed() -> None:
        with schema_context(schema):
            for first in ("Zoë", "Zachary"):
                patient_create(actor=None, data=PatientInput(first_name=first, last_name=LAST_NAME))
            archived = patient_create(
                actor=None, data=PatientInput(first_name="Zelda", last_name=LAST_NAME)
            )
            patient_archive(actor=None, patient=archived)

    def undo() -> None:
        with schema_context(schema):
            Patient.objects.filter(last_name=LAST_NAME).delete()
            last = Patient.objects.aggregate(last=Max("sequence"))["last"] or 0
            PatientNumberCounter.objects.filter(pk=1).update(last_number=last)

    _in_a_connection_of_its_own(seed)
    yield
    _in_a_connection_of_its_own(undo)


@pytest.mark.browser
def test_results_follow_the_typing_without_pressing_enter(
    searchable_patients: None, page: Page, live_site: LiveSite
) -> None:
    sign_in(page, live_site, RECEPTIONIST_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))
    page.goto(live_site.clinic_url("clinic-a", "/patients/"))
    results = page.get_by_test_id("patient-results")

    box = page.get_by_label("Search by name, phone, patient number, email or date of birth")
    box.press_sequentially("searchwell", delay=30)
    expect(page.get_by_test_id("patient-count")).to_contain_text("2 matches")
    expect(results).to_contain_text("Zoë")
    expect(results).to_contain_text("Zachary")
    expect(page).to_have_url(re.compile(r"/patients/\?q=searchwell$"))

    box.press_sequentially(" zoe", delay=30)  # accents need not be typed
    expect(page.get_by_test_id("patient-count")).to_contain_text("1 match")
    expect(results).not_to_contain_text("Zachary")

    box.fill("searchwell")
    page.get_by_label("Include archived").check()
    expect(page.get_by_test_id("patient-count")).to_contain_text("3 matches")
    expect(results).to_contain_text("archived")

    page.reload()  # the address kept the search: a reload shows the same results
    expect(page.get_by_test_id("patient-count")).to_contain_text("3 matches")
