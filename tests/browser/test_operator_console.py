"""The operator console in a real browser: an operator signs in (setting up the required
second factor), creates a clinic for someone, suspends it and resumes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.db import connection
from playwright.sync_api import Page, expect

from shared_apps.accounts.models import SignInThrottle, User
from shared_apps.clinics.models import Clinic
from shared_apps.two_factor import totp
from shared_apps.user_sessions.models import UserSession
from tests import factories
from tests.browser.conftest import SCREENSHOTS_DIR, LiveSite, _in_a_connection_of_its_own
from tests.support.mailbox import mailbox  # noqa: F401

OPERATOR = "ada.operator@drcrm.example"
SUBDOMAIN = "browser-harbour"
CLINIC_NAME = "Browser Harbour Dental"
OWNER = "hana.owner@harbour.example"


@pytest.fixture
def operator_account() -> Iterator[None]:
    """An operator without a second factor yet, committed so the live server sees it;
    afterwards the operator and the clinic they made are removed (the operator trail
    stays: it is append-only, and names only ids)."""
    _in_a_connection_of_its_own(
        lambda: User.objects.create_user(
            OPERATOR, factories.PASSWORD, full_name="Ada Operator", is_operator=True
        )
    )
    yield

    def undo() -> None:
        clinic = Clinic.objects.filter(subdomain=SUBDOMAIN).first()
        if clinic is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(clinic.schema_name)} CASCADE"
                )
            clinic.delete()  # its domain and invite with it
        user_ids = list(User.objects.filter(email=OPERATOR).values_list("pk", flat=True))
        UserSession.objects.filter(user_id__in=user_ids).delete()
        SignInThrottle.objects.filter(email=OPERATOR).delete()
        User.objects.filter(pk__in=user_ids).delete()

    _in_a_connection_of_its_own(undo)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS_DIR / f"operator-console-{name}.png", full_page=True)


@pytest.mark.browser
def test_an_operator_creates_suspends_and_resumes_a_clinic(
    operator_account: None,
    mailbox: list[EmailMessage],  # noqa: F811
    settings: Any,
    page: Page,
    live_site: LiveSite,
) -> None:
    settings.SITE_PORT = str(live_site.port)

    # The console sends a visitor to the operator sign-in, without setting a cookie.
    page.goto(live_site.public_url("/operator/"))
    expect(page).to_have_url(live_site.public_url("/operator/sign-in/?next=/operator/"))
    assert page.context.cookies() == []
    page.get_by_label("Email").fill(OPERATOR)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Continue").click()

    # No second factor yet: setting one up comes before anything else.
    expect(page).to_have_url(live_site.public_url("/operator/sign-in/two-factor/set-up/"))
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    page.get_by_text("Can't scan it? Type this key instead").click()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    _shot(page, "1-set-up")
    confirm = page.get_by_test_id("totp-confirm-form")
    confirm.get_by_label("Authentication code").fill(totp.code_at(secret))  # the phone's code
    confirm.get_by_role("button", name="Turn on two-factor sign-in").click()
    assert len(page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()) == 10
    page.get_by_test_id("codes-saved").click()

    # The fleet.
    expect(page).to_have_url(live_site.public_url("/operator/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinics")
    expect(page.get_by_test_id("clinic-clinic-a")).to_contain_text("MARK-A Smile Dental")
    _shot(page, "2-clinics")

    # A clinic for someone else: its owner is invited by email.
    page.get_by_role("navigation", name="Operator console").get_by_role(
        "link", name="New clinic"
    ).click()
    form = page.get_by_test_id("clinic-create-form")
    form.get_by_label("Clinic name").fill(CLINIC_NAME)
    form.get_by_label("Address").fill("clinic-a")  # taken: a field error, nothing made
    form.get_by_label("Owner's email").fill(OWNER)
    form.get_by_label("Time zone").select_option("Europe/London")
    form.get_by_label("Currency").fill("GBP")
    form.get_by_role("button", name="Create clinic").click()
    expect(page.get_by_text("This address is already taken.")).to_be_visible()
    form = page.get_by_test_id("clinic-create-form")
    form.get_by_label("Address").fill(SUBDOMAIN)
    form.get_by_role("button", name="Create clinic").click()
    expect(page.get_by_text(f"{CLINIC_NAME} is ready.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
    expect(page.get_by_test_id("owner-invites")).to_have_text(OWNER)
    [invite] = [message for message in mailbox if message.to == [OWNER]]
    assert CLINIC_NAME in invite.subject
    _shot(page, "3-created")

    # Suspended: a confirmation step with a reason, then the clinic's site refuses.
    page.get_by_test_id("suspend").click()
    page.get_by_test_id("confirm").click()  # no reason yet
    expect(page.get_by_text("Say why the clinic is suspended.")).to_be_visible()
    page.get_by_label("Reason").fill("Card declined three times")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Suspended")
    expect(page.get_by_test_id("status-reason")).to_contain_text("Card declined three times")
    _shot(page, "4-suspended")
    clinic_site = page.context.new_page()
    refused = clinic_site.goto(live_site.clinic_url(SUBDOMAIN, "/sign-in/"))
    assert refused is not None
    assert refused.status == 403

    # Resumed: open again.
    page.get_by_test_id("resume").click()
    page.get_by_label("Reason").fill("Paid in full")
    page.get_by_test_id("confirm").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Active")
    history = page.get_by_test_id("history")
    expect(history).to_contain_text("clinic.resume")
    expect(history).to_contain_text("clinic.suspend")
    opened = clinic_site.goto(live_site.clinic_url(SUBDOMAIN, "/sign-in/"))
    assert opened is not None
    assert opened.status == 200
    clinic_site.close()

    # Signing out ends the console session.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_site.public_url("/operator/sign-in/"))
    page.goto(live_site.public_url("/operator/"))
    expect(page).to_have_url(live_site.public_url("/operator/sign-in/?next=/operator/"))
