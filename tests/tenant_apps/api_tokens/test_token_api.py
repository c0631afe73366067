"""`/api/v1/auth/tokens/`: email and password for a token (held to the sign-in form's rules),
listing and revoking one's own tokens."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from shared_apps.accounts.models import SignInThrottle, User
from shared_apps.clinics.models import Clinic
from shared_apps.clinics.routing import forget_cached_routes
from shared_apps.two_factor import totp
from shared_apps.two_factor.models import TotpDevice
from shared_apps.two_factor.secret_box import seal
from tenant_apps.api_tokens.models import ApiToken
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.isolation.markers import assert_no_marker, marker
from tests.tenant_apps.api_tokens.helpers import token_for, token_row, with_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/tokens/"
GENERIC = "That email and password do not match an account of this clinic."


def exchange(clinic, **body):
    """A script with no session and no token asking for one."""
    client = APIClient(HTTP_HOST=factories.host_of(clinic))
    return client.post(URL, body, format="json")


def credentials(user, **extra):
    return {"email": user.email, "password": factories.PASSWORD, "name": "nightly sync", **extra}


def failures(clinic, email: str) -> int:
    row = SignInThrottle.objects.filter(clinic=clinic, email=email.lower()).first()
    return row.failures if row else 0


def tokens_in(clinic) -> int:
    with tenant_context(clinic):
        return ApiToken.objects.count()


def test_email_and_password_get_a_token_that_works(clinic_a, practitioner_a):
    response = exchange(clinic_a, **credentials(practitioner_a))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "name", "prefix", "token", "created_at"}
    assert body["name"] == "nightly sync"
    assert body["token"].startswith(body["prefix"])
    assert response["Cache-Control"] == "no-store"
    me = with_token(clinic_a, body["token"]).get("/api/v1/").json()["user"]
    assert me == {"email": practitioner_a.email, "role": "practitioner"}
    with tenant_context(clinic_a):
        event = AuditEvent.objects.filter(action="api_token.created").latest("id")
    assert (event.actor_id, event.source, event.target_id) == (
        practitioner_a.pk,
        "api",
        str(body["id"]),
    )


def test_the_address_is_matched_whatever_its_case(clinic_a, owner_a):
    response = exchange(clinic_a, **credentials(owner_a, email=owner_a.email.upper()))
    assert response.status_code == 201


def test_a_wrong_password_gets_the_generic_answer_and_is_counted(clinic_a, owner_a):
    response = exchange(clinic_a, **credentials(owner_a, password="not the password"))
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_credentials",
        "message": GENERIC,
        "fields": {},
    }
    assert failures(clinic_a, owner_a.email) == 1
    assert tokens_in(clinic_a) == 0
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="sign_in.failed").count() == 1


def test_non_members_and_unknown_emails_get_the_same_answer_as_a_wrong_password(
    clinic_a, clinic_b, owner_a, outsider_b
):
    wrong_password = exchange(clinic_a, **credentials(owner_a, password="nope nope nope"))
    not_a_member = exchange(clinic_a, **credentials(outsider_b))  # the right password, of B
    unknown = exchange(clinic_a, **credentials(owner_a, email="nobody@example.com"))
    assert wrong_password.status_code == not_a_member.status_code == unknown.status_code == 401
    assert wrong_password.json() == not_a_member.json() == unknown.json()
    assert_no_marker(not_a_member.content, marker(clinic_b))


def test_repeated_failures_lock_the_address_even_for_the_right_password(clinic_a, owner_a):
    for n in range(settings.SIGN_IN_MAX_FAILURES - 1):
        assert exchange(clinic_a, **credentials(owner_a, password=f"guess {n}")).status_code == 401
    locking = exchange(clinic_a, **credentials(owner_a, password="last guess"))
    assert locking.status_code == 429
    assert locking.json()["error"]["code"] == "locked"
    assert "sign-in is paused" in locking.json()["error"]["message"]
    assert 0 < int(locking["Retry-After"]) <= settings.SIGN_IN_LOCK_SECONDS

    right = exchange(clinic_a, **credentials(owner_a))
    assert right.status_code == 429
    assert int(right["Retry-After"]) > 0
    assert tokens_in(clinic_a) == 0


def test_the_form_and_the_api_share_one_lock(clinic_a, owner_a):
    client = APIClient(HTTP_HOST=factories.host_of(clinic_a))
    for n in range(settings.SIGN_IN_MAX_FAILURES):
        client.post("/sign-in/", {"username": owner_a.email, "password": f"guess {n}"})
    assert exchange(clinic_a, **credentials(owner_a)).status_code == 429


def test_a_success_forgets_earlier_failures(clinic_a, owner_a):
    exchange(clinic_a, **credentials(owner_a, password="typo typo typo"))
    assert exchange(clinic_a, **credentials(owner_a)).status_code == 201
    assert failures(clinic_a, owner_a.email) == 0


@pytest.fixture
def authenticator(practitioner_a):
    """A confirmed authenticator app for the practitioner; yields its secret."""
    secret = totp.new_secret()
    TotpDevice.objects.create(user=practitioner_a, secret=seal(secret), confirmed_at=timezone.now())
    return secret


def test_two_factor_accounts_must_send_a_code(clinic_a, practitioner_a, authenticator):
    response = exchange(clinic_a, **credentials(practitioner_a))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "otp_required"
    assert "`otp`" in response.json()["error"]["message"]
    assert tokens_in(clinic_a) == 0


def test_a_wrong_code_is_refused_and_counted(clinic_a, practitioner_a, authenticator):
    wrong = "000000" if totp.code_at(authenticator) != "000000" else "111111"
    response = exchange(clinic_a, **credentials(practitioner_a, otp=wrong))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_otp"
    assert failures(clinic_a, practitioner_a.email) == 1
    assert tokens_in(clinic_a) == 0


def test_the_current_code_gets_the_token_and_cannot_be_replayed(
    clinic_a, practitioner_a, authenticator
):
    code = totp.code_at(authenticator)
    first = exchange(clinic_a, **credentials(practitioner_a, otp=code))
    assert first.status_code == 201, first.content
    replay = exchange(clinic_a, **credentials(practitioner_a, otp=code, name="second"))
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "invalid_otp"
    assert tokens_in(clinic_a) == 1


def test_a_clinic_requiring_two_factor_refuses_accounts_without_it(clinic_a, practitioner_a):
    Clinic.objects.filter(pk=clinic_a.pk).update(require_two_factor=True)
    forget_cached_routes()
    response = exchange(clinic_a, **credentials(practitioner_a))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "two_factor_setup_required"
    assert "Sign in on the web" in error["message"]
    assert tokens_in(clinic_a) == 0


def test_a_clinic_requiring_two_factor_accepts_a_code(clinic_a, practitioner_a, authenticator):
    Clinic.objects.filter(pk=clinic_a.pk).update(require_two_factor=True)
    forget_cached_routes()
    code = totp.code_at(authenticator)
    assert exchange(clinic_a, **credentials(practitioner_a, otp=code)).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 200}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"password": None}, "password"),
        ({"otp": "1" * 40}, "otp"),
    ],
)
def test_bad_input_is_a_400_with_the_field_map_and_counts_nothing(clinic_a, owner_a, change, field):
    body = {k: v for k, v in {**credentials(owner_a), **change}.items() if v is not None}
    response = exchange(clinic_a, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert failures(clinic_a, owner_a.email) == 0
    assert tokens_in(clinic_a) == 0


def test_a_name_in_use_is_a_field_error_after_the_right_credentials(clinic_a, owner_a):
    token_for(clinic_a, owner_a, "nightly sync")
    response = exchange(clinic_a, **credentials(owner_a))
    assert response.status_code == 400
    assert "already have an active token" in response.json()["error"]["fields"]["name"][0]


def test_malformed_json_is_a_400(clinic_a):
    client = APIClient(HTTP_HOST=factories.host_of(clinic_a))
    response = client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


# --- list and revoke -----------------------------------------------------------------------


def test_the_list_shows_own_tokens_and_never_a_secret(clinic_a, owner_a, practitioner_a):
    mine = token_for(clinic_a, owner_a, "mine")
    theirs = token_for(clinic_a, practitioner_a, "theirs")
    response = with_token(clinic_a, mine).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["results"]
    assert (item["name"], item["prefix"], item["is_active"]) == ("mine", mine[:12], True)
    assert not {"token", "token_hash"} & set(item)
    text = response.content.decode()
    assert mine not in text
    assert theirs[:12] not in text
    assert token_row(clinic_a, name="mine").token_hash not in text


def test_a_signed_in_member_lists_with_the_session(clinic_a, api_client, owner_a):
    token_for(clinic_a, owner_a, "from the page")
    response = api_client(clinic_a, owner_a).get(URL)
    assert [t["name"] for t in response.json()["results"]] == ["from the page"]


def test_listing_needs_a_member(clinic_a, api_client):
    response = api_client(clinic_a).get(URL)
    assert response.status_code == 401


def test_revoking_through_the_api(clinic_a, owner_a):
    token = token_for(clinic_a, owner_a, "to revoke")
    token_id = token_row(clinic_a, name="to revoke").pk
    client = with_token(clinic_a, token_for(clinic_a, owner_a, "admin script"))
    assert client.delete(f"{URL}{token_id}/").status_code == 204
    assert client.delete(f"{URL}{token_id}/").status_code == 204  # already gone: same answer
    assert with_token(clinic_a, token).get("/api/v1/").status_code == 401
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


def test_another_persons_token_is_not_found(clinic_a, owner_a, practitioner_a):
    token_for(clinic_a, practitioner_a, "theirs")
    theirs = token_row(clinic_a, name="theirs").pk
    client = with_token(clinic_a, token_for(clinic_a, owner_a))
    assert client.delete(f"{URL}{theirs}/").status_code == 404
    assert client.delete(f"{URL}{theirs + 1000}/").status_code == 404
    assert client.delete(f"{URL}{'9' * 30}/").status_code == 404  # beyond any bigint
    assert token_row(clinic_a, pk=theirs).is_active


def test_a_token_revoked_with_itself_stops_at_once(clinic_a, owner_a):
    token = token_for(clinic_a, owner_a)
    client = with_token(clinic_a, token)
    token_id = token_row(clinic_a, user_id=owner_a.pk).pk
    assert client.delete(f"{URL}{token_id}/").status_code == 204
    assert client.get(URL).status_code == 401


def test_an_inactive_user_cannot_exchange_credentials(clinic_a, practitioner_a):
    User.objects.filter(pk=practitioner_a.pk).update(is_active=False)
    response = exchange(clinic_a, **credentials(practitioner_a))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == GENERIC
