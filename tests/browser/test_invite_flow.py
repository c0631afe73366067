"""Invite -> accept -> sign in -> two-factor -> API token, in a real browser, the way an owner
and a newcomer do it.

The live server runs in this process: with the `mailbox` fixture Celery is eager and email
goes to Django's locmem outbox, so the invitation the server sends lands in `mailbox` and
its link (on the live server's port: SITE_PORT is set to it) is opened by a second,
separate browser context, as the newcomer would from their inbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from shared_apps.accounts.models import SignInThrottle, User
from shared_apps.staff.models import Invite
from shared_apps.two_factor import totp
from shared_apps.user_sessions.models import UserSession
from tenant_apps.api_tokens.models import ApiToken
from tests.browser.conftest import (
    SCREENSHOTS_DIR,
    LiveSite,
    NewPage,
    _in_a_connection_of_its_own,
)
from tests.browser.test_shell import OWNER_A, sign_in
from tests.conftest import World
from tests.support.mailbox import links_in, mailbox  # noqa: F401

NEWCOMER = "new.practitioner@clinic-a.example"
NEWCOMER_NAME = "Noor Newman"
NEWCOMER_PASSWORD = "stethoscope lantern harbour 1987"


@pytest.fixture
def newcomer_cleanup(world: World) -> Iterator[None]:
    """Removes what the server committed for the newcomer, for the tests after this one.

    Requested first, so it runs last: after the browser contexts are closed. The audit rows
    stay: the trail is append-only (the database refuses to delete them), and they name
    only ids.
    """
    yield

    def undo() -> None:
        user_ids = list(User.objects.filter(email__iexact=NEWCOMER).values_list("pk", flat=True))
        with schema_context(world.clinic_a.schema_name):  # type: ignore[attr-defined]
            UserSession.objects.filter(user_id__in=user_ids).delete()
            ApiToken.objects.filter(user_id__in=user_ids).delete()
        Invite.objects.filter(email__iexact=NEWCOMER).delete()
        SignInThrottle.objects.filter(email=NEWCOMER).delete()
        User.objects.filter(pk__in=user_ids).delete()  # and the membership with it

    _in_a_connection_of_its_own(undo)


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS_DIR / f"invite-flow-{name}.png", full_page=True)


@pytest.mark.browser
def test_an_invited_practitioner_joins_turns_on_two_factor_and_uses_the_api(
    newcomer_cleanup: None,
    mailbox: list[EmailMessage],  # noqa: F811
    settings: Any,
    page: Page,
    new_page: NewPage,
    live_site: LiveSite,
) -> None:
    # Links in emails point at the live server, as they point at the real host in production.
    settings.SITE_PORT = str(live_site.port)

    # The owner signs in and invites a practitioner from the Staff page.
    sign_in(page, live_site, OWNER_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/staff/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    expect(page.get_by_test_id("members")).to_contain_text("Pat Practitioner")
    form = page.get_by_test_id("invite-form")
    form.get_by_label("Email").fill(NEWCOMER)
    form.get_by_label("Role", exact=True).select_option(label="Practitioner")
    form.get_by_role("button", name="Send invitation").click()

    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/staff/"))
    expect(page.get_by_text(f"Invitation sent to {NEWCOMER}.")).to_be_visible()
    expect(page.get_by_test_id("invites")).to_contain_text(NEWCOMER)
    expect(page.get_by_test_id("invites")).to_contain_text("Practitioner")
    _shot(page, "1-staff-page")

    # The email, as the newcomer receives it.
    [message] = [m for m in mailbox if m.to == [NEWCOMER]]
    assert "MARK-A Smile Dental" in message.subject
    [link] = [link for link in links_in(message) if "/invite/" in link]
    assert link.startswith(live_site.clinic_url("clinic-a", "/invite/"))

    # In a browser of their own, the newcomer opens the link and makes an account.
    newcomer = new_page()
    response = newcomer.goto(link)
    assert response is not None
    assert response.status == 200
    expect(newcomer.get_by_role("heading", level=1)).to_have_text("Join MARK-A Smile Dental")
    expect(newcomer.get_by_text("Olivia Owner invited")).to_contain_text("Practitioner")
    newcomer.get_by_label("Full name").fill(NEWCOMER_NAME)
    newcomer.get_by_label("Password", exact=True).fill(NEWCOMER_PASSWORD)
    newcomer.get_by_label("Confirm password").fill(NEWCOMER_PASSWORD)
    _shot(newcomer, "2-accept-page")
    newcomer.get_by_role("button", name="Create account and join").click()

    # Signed in, on the dashboard, as a practitioner (no Staff page for them).
    expect(newcomer).to_have_url(live_site.clinic_url("clinic-a", "/"))
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(
        f"Good to see you, {NEWCOMER_NAME}"
    )
    expect(newcomer.get_by_text("Welcome to MARK-A Smile Dental!")).to_be_visible()
    nav = newcomer.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Calendar")).to_be_visible()
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)
    _shot(newcomer, "3-dashboard")

    # The link worked once.
    again = newcomer.context.new_page()
    reopened = again.goto(link)
    assert reopened is not None
    assert reopened.status == 404
    again.close()

    # Signs out, and back in with the new password.
    newcomer.get_by_role("button", name="Sign out").click()
    expect(newcomer).to_have_url(live_site.clinic_url("clinic-a", "/sign-in/"))
    sign_in(newcomer, live_site, NEWCOMER, NEWCOMER_PASSWORD)
    expect(newcomer).to_have_url(live_site.clinic_url("clinic-a", "/"))
    expect(newcomer.get_by_role("heading", level=1)).to_have_text(
        f"Good to see you, {NEWCOMER_NAME}"
    )

    # The owner's Staff page now lists them as an active practitioner.
    page.reload()
    members = page.get_by_test_id("members")
    expect(members.get_by_role("row").filter(has_text=NEWCOMER)).to_contain_text("Active")
    expect(page.get_by_test_id("invites")).to_have_count(0)
    assert re.search(r"MARK-B", page.content()) is None

    # The newcomer turns on two-factor sign-in from their profile.
    newcomer.get_by_test_id("profile-link").click()
    newcomer.get_by_test_id("profile-nav").get_by_role("link", name="Two-factor sign-in").click()
    start = newcomer.get_by_test_id("two-factor-start-form")
    start.get_by_label("Your password").fill(NEWCOMER_PASSWORD)
    start.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(newcomer.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    newcomer.get_by_text("Can't scan it? Type this key instead").click()
    secret = newcomer.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    _shot(newcomer, "4-two-factor-setup")
    confirm = newcomer.get_by_test_id("totp-confirm-form")
    confirm.get_by_label("Authentication code").fill(totp.code_at(secret))  # the phone's code
    confirm.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = newcomer.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    newcomer.get_by_test_id("codes-saved").click()
    expect(newcomer.get_by_test_id("two-factor-status")).to_contain_text("On")

    # From now on the password alone is not enough; a recovery code gets them in once.
    newcomer.get_by_role("button", name="Sign out").click()
    sign_in(newcomer, live_site, NEWCOMER, NEWCOMER_PASSWORD)
    expect(newcomer).to_have_url(live_site.clinic_url("clinic-a", "/sign-in/two-factor/"))
    newcomer.get_by_test_id("use-recovery-code").click()
    newcomer.get_by_label("Recovery code").fill(codes[0])
    newcomer.get_by_role("button", name="Verify").click()
    expect(newcomer).to_have_url(live_site.clinic_url("clinic-a", "/"))

    # They create an API token, shown once, and it works on the clinic's API.
    newcomer.get_by_test_id("profile-link").click()
    newcomer.get_by_test_id("profile-nav").get_by_role("link", name="API tokens").click()
    token_form = newcomer.get_by_test_id("api-token-form")
    token_form.get_by_label("Token name").fill("Lab results import")
    token_form.get_by_role("button", name="Create token").click()
    token = newcomer.get_by_test_id("new-token-value").input_value()
    _shot(newcomer, "5-api-token")
    newcomer.reload()
    expect(newcomer.get_by_test_id("new-token")).to_have_count(0)  # shown once only
    expect(newcomer.get_by_test_id("api-token-list")).to_contain_text("Lab results import")

    answer = api_call(live_site, "clinic-a", token)
    assert answer.status_code == 200
    assert answer.json()["user"] == {"email": NEWCOMER, "role": "practitioner"}
    assert "MARK-B" not in answer.text
    # The same token is nothing on clinic B's API.
    assert api_call(live_site, "clinic-b", token).status_code == 401


def api_call(site: LiveSite, subdomain: str, token: str) -> httpx.Response:
    """GET /api/v1/ as a script would: no browser, no cookies, just the Bearer token.

    Sent to the loopback address with the clinic's Host header, since the system resolver
    (unlike Chromium) need not know `*.localhost`.
    """
    host = f"{subdomain}.{django_settings.BASE_DOMAIN}"
    return httpx.get(
        f"http://127.0.0.1:{site.port}/api/v1/",
        headers={"Host": host, "Authorization": f"Bearer {token}"},
        timeout=10,
    )
