"""Signup in a real browser: the form with its live address check, the emailed link, the
progress page, and the new owner signed in on their clinic's dashboard.

Nothing is eager here: the live server commits for real, the provisioning task and the
verification email go through the real Celery worker (tests/platform/conftest.py), and the
email reaches the fake Resend, from which the test takes the link as the owner would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from provisioning.models import ClinicSignup
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic
from tests.browser.conftest import SCREENSHOTS_DIR, LiveSite, _in_a_connection_of_its_own
from tests.platform.conftest import CeleryWorker, celery_worker  # noqa: F401
from tests.support.fake_resend import FakeResend

SUBDOMAIN = "sunny-paws-clinic"
EMAIL = "sol@sunny-paws.example"
NAME = "Sol Sunny"
CLINIC = "Sunny Family Practice"
PASSWORD = "meadow compass 7731 lantern"
# From pressing "Confirm" to the dashboard: the clinic is made from the template schema.
WITHIN_SECONDS = 15


@pytest.fixture
def signup_cleanup() -> Iterator[None]:
    """Removes what the server and the worker committed: the clinic (and its schema), the
    signup and the account. Requested first, so it runs after the browser has closed."""
    yield

    def undo() -> None:
        for clinic in Clinic.objects.filter(subdomain=SUBDOMAIN):
            with schema_context("public"):
                clinic.delete(force_drop=True)
        ClinicSignup.objects.filter(owner_email=EMAIL).delete()
        User.objects.filter(email=EMAIL).delete()

    _in_a_connection_of_its_own(undo)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS_DIR / f"signup-flow-{name}.png", full_page=True)


@pytest.mark.browser
def test_a_new_clinic_signs_up_confirms_and_lands_on_its_dashboard(
    signup_cleanup: None,
    celery_worker: CeleryWorker,  # noqa: F811
    fake_resend: FakeResend,
    settings: Any,
    page: Page,
    live_site: LiveSite,
) -> None:
    settings.SITE_PORT = str(live_site.port)  # links in emails point at the live server

    # From the landing page to the form.
    page.goto(live_site.public_url("/"))
    page.get_by_test_id("start-your-clinic").click()
    expect(page).to_have_url(live_site.public_url("/signup/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Start your clinic")

    form = page.get_by_test_id("signup-form")
    form.get_by_label("Clinic name").fill(CLINIC)
    address = form.get_by_label("Your clinic's address")
    check = page.get_by_test_id("subdomain-check")
    # The live check: a taken address, a malformed one, then a free one.
    address.fill("clinic-a")
    expect(check).to_have_text("This address is already taken.")
    address.fill("Sunny")
    expect(check).to_have_text("Use lower case letters only.")
    address.fill(SUBDOMAIN)
    expect(check).to_have_text("This address is available.")
    form.get_by_label("Medical").check()
    form.get_by_label("Your full name").fill(NAME)
    form.get_by_label("Your work email").fill(EMAIL)
    form.get_by_label("Choose a password").fill(PASSWORD)
    # The country fills in the time zone and the currency.
    form.get_by_label("Country").select_option("IE")
    expect(form.get_by_label("Time zone")).to_have_value("Europe/Dublin")
    expect(form.get_by_label("Currency")).to_have_value("EUR")
    _shot(page, "1-form")
    form.get_by_role("button", name="Create my clinic").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.get_by_test_id("signup-sent")).to_contain_text(EMAIL)
    assert page.context.cookies() == []  # the public site set no cookie

    # The email, as the owner receives it.
    [email] = fake_resend.wait_for_emails(1)
    assert email.body["to"] == [EMAIL]
    [link] = re.findall(r"https?://\S+/signup/verify/\S+/", email.body["text"])
    assert link.startswith(live_site.public_url("/signup/verify/"))

    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Create {CLINIC}")
    _shot(page, "2-confirm")
    started = time.monotonic()
    page.get_by_role("button", name="Confirm and create my clinic").click()

    # The progress page, then the clinic's own host, signed in.
    dashboard = live_site.clinic_url(SUBDOMAIN, "/")
    expect(page).to_have_url(dashboard, timeout=WITHIN_SECONDS * 1000)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good to see you, {NAME}")
    assert time.monotonic() - started < WITHIN_SECONDS
    expect(page.get_by_text(f"Welcome to {CLINIC}! Your clinic is ready.")).to_be_visible()
    _shot(page, "3-dashboard")
    assert any("/signup/progress/" in url for url in visited), visited
    assert any(url.endswith("/status") for url in visited), visited  # the page polled
    assert any("/welcome/" in url for url in visited), visited
    # The hand-off link has left the address bar and works once only.
    [welcome] = [url for url in visited if "/welcome/" in url]
    again = page.context.new_page()
    response = again.goto(welcome)
    assert response is not None
    assert response.status == 410
    again.close()

    # Going back to the progress page shows the result, and signs nobody in twice.
    [progress] = [url for url in visited if "/signup/progress/" in url][:1]
    other = page.context.browser.new_context() if page.context.browser else None
    assert other is not None
    late = other.new_page()
    late.goto(progress)
    expect(late).to_have_url(live_site.clinic_url(SUBDOMAIN, "/sign-in/"))
    other.close()
