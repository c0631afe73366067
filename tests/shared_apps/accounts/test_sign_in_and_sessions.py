"""Sign-in, membership checks and sessions: a clinic's session is worthless elsewhere."""

import pytest
from django.conf import settings
from django.test import Client

from shared_apps.accounts.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db

WRONG_LOGIN = b"That email and password do not match an account of this clinic."


def sign_in(client: Client, email: str, password: str = factories.PASSWORD):
    return client.post("/sign-in/", {"username": email, "password": password})


def test_a_member_signs_in_and_reaches_the_dashboard(clinic_a, owner_a):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    response = sign_in(client, "OWNER@clinic-a.example")  # email is case-insensitive
    assert response.status_code == 302
    assert response["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b"Olivia Owner" in dashboard.content
    assert b"MARK-A Smile Dental" in dashboard.content


def test_a_member_of_another_clinic_gets_the_same_answer_as_a_wrong_password(clinic_a, outsider_b):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    not_member = sign_in(client, outsider_b.email)
    wrong_password = sign_in(client, "owner@clinic-a.example", "not the password")
    unknown = sign_in(client, "nobody@example.com")
    for response in (not_member, wrong_password, unknown):
        assert response.status_code == 400
        assert WRONG_LOGIN in response.content
    assert "_auth_user_id" not in client.session


def test_pages_need_a_signed_in_member(clinic_a, clinic_client):
    response = clinic_client(clinic_a).get("/patients/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/patients/"


def test_a_session_from_clinic_a_is_unknown_on_clinic_b(clinic_a, clinic_b, owner_a):
    client_a = Client(HTTP_HOST=factories.host_of(clinic_a))
    sign_in(client_a, owner_a.email)
    session_cookie = client_a.cookies[settings.SESSION_COOKIE_NAME].value
    # The cookie copied by hand to clinic B's host: B's schema has no such session.
    client_b = Client(HTTP_HOST=factories.host_of(clinic_b))
    client_b.cookies[settings.SESSION_COOKIE_NAME] = session_cookie
    response = client_b.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")
    assert b"MARK-B" not in client_b.get("/api/v1/").content


def test_a_user_who_loses_the_membership_is_out_on_the_next_request(
    clinic_a, practitioner_a, clinic_client
):
    client = clinic_client(clinic_a, practitioner_a)
    assert client.get("/").status_code == 200
    Membership.objects.filter(user=practitioner_a, clinic=clinic_a).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_a_deactivated_user_is_out_on_the_next_request(clinic_a, practitioner_a, clinic_client):
    client = clinic_client(clinic_a, practitioner_a)
    practitioner_a.is_active = False
    practitioner_a.save(update_fields=["is_active"])
    assert client.get("/").status_code == 302


def test_sign_out_ends_the_session_on_the_server(clinic_a, owner_a):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    sign_in(client, owner_a.email)
    session_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/sign-out/")
    replay = Client(HTTP_HOST=factories.host_of(clinic_a))
    replay.cookies[settings.SESSION_COOKIE_NAME] = session_cookie
    assert replay.get("/").status_code == 302


def test_sign_in_issues_a_new_session_key(clinic_a, owner_a):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    client.get("/sign-in/")  # the form's CSRF token creates an anonymous session
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    sign_in(client, owner_a.email)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before


CRAWL = [
    ("public", "get", "/", None),
    ("public", "get", "/privacy/", None),
    ("public", "get", "/nope/", None),
    ("public", "get", "/find-my-clinic/", None),
    ("public", "post", "/find-my-clinic/", {"email": "owner@clinic-a.example"}),
    ("clinic", "get", "/sign-in/", None),
    ("clinic", "get", "/password-reset/", None),
    ("clinic", "post", "/password-reset/", {"email": "owner@clinic-a.example"}),
    ("clinic", "get", "/password-reset/not-a-token/", None),
    ("clinic", "get", "/invite/not-a-token/", None),
    ("clinic", "get", "/sign-in/two-factor/", None),
    ("clinic", "post", "/sign-in/", {"username": "owner@clinic-a.example", "password": "bad"}),
    (
        "clinic",
        "post",
        "/sign-in/",
        {"username": "owner@clinic-a.example", "password": factories.PASSWORD},
    ),
    ("clinic", "get", "/", None),
    ("clinic", "get", "/patients/", None),
    ("clinic", "get", "/calendar/", None),
    ("clinic", "get", "/billing/", None),
    ("clinic", "get", "/settings/", None),
    ("clinic", "get", "/staff/", None),
    ("clinic", "get", "/profile/", None),
    ("clinic", "get", "/profile/sessions/", None),
    ("clinic", "get", "/profile/two-factor/", None),
    ("clinic", "get", "/profile/api-tokens/", None),
    ("clinic", "post", "/profile/api-tokens/", {"name": "crawler"}),
    ("clinic", "get", "/api/v1/", None),
    ("clinic", "get", "/api/v1/schema/", None),
    ("clinic", "get", "/api/v1/docs/", None),
    ("clinic", "get", "/no-such-page/", None),
    ("clinic", "post", "/sign-out/", {}),
]


def test_the_session_cookie_is_the_only_cookie_ever_set(clinic_a, public_client):
    clinic = Client(HTTP_HOST=factories.host_of(clinic_a))
    seen: set[str] = set()
    for site, method, path, data in CRAWL:
        client = public_client if site == "public" else clinic
        response = getattr(client, method)(path, data) if data is not None else client.get(path)
        assert response.status_code < 500, path
        for name, morsel in response.cookies.items():
            seen.add(name)
            assert morsel["domain"] == "", f"{path} set a cookie for other hosts"
            if morsel["max-age"] == 0:
                continue  # sign-out deleting the cookie
            assert morsel["httponly"] is True
            assert morsel["samesite"] == "Lax"
    assert seen == {settings.SESSION_COOKIE_NAME}


@pytest.mark.parametrize("path", ["/", "/privacy/"])
def test_an_anonymous_visit_to_the_public_site_sets_no_cookie(public_client, path):
    response = public_client.get(path)
    assert response.status_code == 200
    assert not response.cookies
