"""The sessions page: one's own sessions in this clinic, and ending them."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from shared_apps.profile.devices import UNKNOWN_DEVICE, device_summary
from shared_apps.profile.selectors import session_public_id
from shared_apps.user_sessions.models import UserSession
from tenant_apps.audit.models import AuditEvent

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
SAMSUNG_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
)
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "summary"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (SAMSUNG_ANDROID, "Samsung Internet on Android"),
        (CHROME_MAC, "Chrome on macOS"),
        ("curl/8.5.0", "curl"),
        ("", UNKNOWN_DEVICE),
        ("something else", UNKNOWN_DEVICE),
    ],
)
def test_a_user_agent_gets_a_friendly_name(user_agent, summary):
    assert device_summary(user_agent) == summary


def session_keys_of(clinic, user) -> list[str]:
    with tenant_context(clinic):
        return list(
            UserSession.objects.filter(user_id=user.pk).values_list("session_key", flat=True)
        )


def other_key(clinic, user, *, not_key: str) -> str:
    [key] = [key for key in session_keys_of(clinic, user) if key != not_key]
    return key


@pytest.mark.django_db
def test_the_page_lists_only_ones_own_sessions_in_this_clinic(clinic_a, clinic_b, person, device):
    user, colleague = person(clinic_a, clinic_b), person(clinic_a)
    laptop = device(clinic_a, user, FIREFOX_LINUX)
    device(clinic_a, user, SAFARI_IPHONE)
    device(clinic_b, user, EDGE_WINDOWS)  # the same person at clinic B
    device(clinic_a, colleague, SAMSUNG_ANDROID)  # someone else at clinic A

    response = laptop.get("/profile/sessions/")
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('data-testid="session"') == 2
    assert "Firefox on Linux" in content
    assert "Safari on iPhone" in content
    assert "Edge on Windows" not in content  # clinic B's session never shows on A
    assert "Samsung Internet" not in content  # nor anyone else's
    assert content.count('data-testid="this-device"') == 1
    assert content.index("Firefox on Linux") < content.index('data-testid="this-device"')
    assert "127.0.0.1" in content
    # Sessions go by a derived id: the session keys (cookie values) never reach the page.
    for key in session_keys_of(clinic_a, user):
        assert key not in content


@pytest.mark.django_db
def test_a_member_signs_out_one_of_their_other_sessions(clinic_a, person, device):
    user = person(clinic_a)
    laptop = device(clinic_a, user, FIREFOX_LINUX)
    phone = device(clinic_a, user, SAFARI_IPHONE)
    phone_key = other_key(clinic_a, user, not_key=laptop.session.session_key)

    response = laptop.post("/profile/sessions/end/", {"session": session_public_id(phone_key)})
    assert response.status_code == 302
    assert response["Location"] == "/profile/sessions/"
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert laptop.get("/profile/sessions/").content.decode().count('data-testid="session"') == 1
    with tenant_context(clinic_a):
        event = AuditEvent.objects.filter(actor_id=user.pk, action="session.ended").get()
    assert event.details["scope"] == "one"
    assert phone_key not in str(event.details)


@pytest.mark.django_db
def test_ending_someone_elses_session_is_not_found(clinic_a, person, device):
    user, colleague = person(clinic_a), person(clinic_a)
    laptop = device(clinic_a, user, FIREFOX_LINUX)
    theirs = device(clinic_a, colleague, SAMSUNG_ANDROID)
    their_key = theirs.session.session_key

    for guess in (session_public_id(their_key), their_key, ""):
        assert laptop.post("/profile/sessions/end/", {"session": guess}).status_code == 404
    assert theirs.get("/").status_code == 200


@pytest.mark.django_db
def test_a_session_at_clinic_b_cannot_be_ended_from_clinic_a(clinic_a, clinic_b, person, device):
    user = person(clinic_a, clinic_b)
    at_a = device(clinic_a, user, FIREFOX_LINUX)
    at_b = device(clinic_b, user, EDGE_WINDOWS)
    b_id = session_public_id(at_b.session.session_key)
    assert at_a.post("/profile/sessions/end/", {"session": b_id}).status_code == 404
    assert at_b.get("/").status_code == 200


@pytest.mark.django_db
def test_sign_out_everywhere_else_keeps_only_this_session(clinic_a, clinic_b, person, device):
    user = person(clinic_a, clinic_b)
    laptop = device(clinic_a, user, FIREFOX_LINUX)
    phone = device(clinic_a, user, SAFARI_IPHONE)
    tablet = device(clinic_a, user, CHROME_MAC)
    at_b = device(clinic_b, user, EDGE_WINDOWS)

    response = laptop.post("/profile/sessions/end-others/")
    assert response.status_code == 302
    page = laptop.get("/profile/sessions/")
    assert b"Signed out everywhere else (2 sessions)." in page.content
    assert page.content.count(b'data-testid="session"') == 1
    assert phone.get("/").status_code == 302
    assert tablet.get("/").status_code == 302
    # "Everywhere else" is this clinic: clinic B's sessions are B's to end.
    assert at_b.get("/").status_code == 200


@pytest.mark.django_db
def test_ending_the_session_in_use_signs_out(clinic_a, person, device):
    user = person(clinic_a)
    laptop = device(clinic_a, user, FIREFOX_LINUX)
    own_id = session_public_id(laptop.session.session_key)
    response = laptop.post("/profile/sessions/end/", {"session": own_id})
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/"
    assert laptop.get("/").status_code == 302


@pytest.mark.django_db
def test_the_session_pages_need_a_member_and_ending_needs_a_post(clinic_a, clinic_client, person):
    anonymous = clinic_client(clinic_a)
    assert anonymous.get("/profile/sessions/").status_code == 302
    assert anonymous.post("/profile/sessions/end-others/").status_code == 302
    member = clinic_client(clinic_a, person(clinic_a))
    assert member.get("/profile/sessions/end/").status_code == 405
    assert member.get("/profile/sessions/end-others/").status_code == 405
