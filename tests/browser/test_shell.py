"""The platform shell in a real browser, used the way a person would use it.

Every request goes through the live server by host name, exactly as in production: the
public site on `localhost`, each clinic on `<subdomain>.localhost`, real CSRF tokens and a
real session cookie. Screenshots of each final page land in test-results/.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, LiveSite, NewPage
from tests.factories import PASSWORD

OWNER_A = "owner@clinic-a.example"
OWNER_B = "owner@clinic-b.example"
CLINIC_A_NAME = "MARK-A Smile Dental"
NO_MATCH = "That email and password do not match an account of this clinic."
NAV_LINKS = ("Patients", "Calendar", "Billing", "Settings")


def sign_in(page: Page, site: LiveSite, email: str, password: str = PASSWORD) -> None:
    """Opens clinic A, is sent to its sign-in form, and fills it in like a person."""
    page.goto(site.clinic_url("clinic-a"))
    expect(page).to_have_url(re.compile(r"/sign-in/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_the_public_site_shows_the_product(page: Page, live_site: LiveSite) -> None:
    response = page.goto(live_site.public_url())

    assert response is not None
    assert response.status == 200
    expect(page).to_have_title(re.compile(r"^DR\. CRM"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Run your clinic from one calm screen."
    )
    expect(page.get_by_role("link", name="Privacy")).to_be_visible()
    # The public site has no staff sign-in and no clinic's name on it.
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    assert "MARK-" not in page.content()
    # The privacy page promises one cookie, the session cookie; a visitor needs none.
    assert page.context.cookies() == []


@pytest.mark.browser
def test_an_unknown_clinic_address_gets_a_friendly_not_found_page(
    page: Page, live_site: LiveSite
) -> None:
    response = page.goto(live_site.clinic_url("no-such-clinic"))

    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("No clinic at this address")
    expect(page.get_by_role("link", name="Go to the DR. CRM home page")).to_have_attribute(
        "href", f"http://{settings.BASE_DOMAIN}:{settings.SITE_PORT}/"
    )
    # Never the landing page: someone who mistyped their clinic must not think it is gone.
    expect(page.get_by_text("Run your clinic")).to_have_count(0)


@pytest.mark.browser
def test_the_owner_signs_in_finds_their_way_around_and_signs_out(
    page: Page, live_site: LiveSite
) -> None:
    sign_in(page, live_site, OWNER_A)

    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Good to see you, Olivia Owner")
    expect(page.get_by_test_id("clinic-name")).to_have_text(CLINIC_A_NAME)
    expect(page).to_have_title(f"Today · {CLINIC_A_NAME}")
    nav = page.get_by_role("navigation", name="Main")
    for name in NAV_LINKS:
        expect(nav.get_by_role("link", name=name)).to_be_visible()

    nav.get_by_role("link", name="Calendar").click()
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/calendar/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Calendar")
    expect(nav.get_by_role("link", name="Calendar")).to_have_attribute("aria-current", "page")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/sign-in/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    # Really signed out: the page just left now asks for a sign-in again.
    page.goto(live_site.clinic_url("clinic-a", "/calendar/"))
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/calendar/$"))


@pytest.mark.browser
def test_another_clinics_owner_cannot_sign_in_here(page: Page, live_site: LiveSite) -> None:
    sign_in(page, live_site, OWNER_B)

    expect(page).to_have_url(re.compile(r"/sign-in/"))
    expect(page.get_by_role("alert")).to_have_text(NO_MATCH)
    not_a_member_page = page.content()
    # The same answer as a plain wrong password: the form does not reveal who works where.
    sign_in(page, live_site, OWNER_A, password="not the password")
    expect(page.get_by_role("alert")).to_have_text(NO_MATCH)
    for html in (not_a_member_page, page.content()):
        assert "MARK-B" not in html
        assert CLINIC_A_NAME in html
    # Nothing was signed in along the way.
    page.goto(live_site.clinic_url("clinic-a"))
    expect(page).to_have_url(re.compile(r"/sign-in/"))


@pytest.mark.browser
def test_on_a_phone_the_navigation_opens_from_the_menu_button(
    new_page: NewPage, live_site: LiveSite
) -> None:
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(page, live_site, OWNER_A)
    expect(page.get_by_test_id("clinic-name")).to_have_text(CLINIC_A_NAME)

    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.locator("label[for=nav-toggle]").tap()
    expect(nav).to_be_visible()
    for name in NAV_LINKS:
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    # Nothing spills sideways on a narrow screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    nav.get_by_role("link", name="Billing").tap()
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/billing/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
    expect(nav).to_be_hidden()  # a new page starts with the menu closed again


@pytest.mark.browser
def test_signing_in_leaves_one_host_only_session_cookie(page: Page, live_site: LiveSite) -> None:
    sign_in(page, live_site, OWNER_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))

    cookies = page.context.cookies()
    assert [cookie["name"] for cookie in cookies] == [settings.SESSION_COOKIE_NAME]
    (session,) = cookies
    # Host-only (no Domain attribute): the browser keeps it for clinic A's host alone.
    assert session["domain"] == f"clinic-a.{settings.BASE_DOMAIN}"
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"
    assert page.context.cookies([live_site.clinic_url("clinic-b")]) == []
    assert page.context.cookies([live_site.public_url()]) == []
