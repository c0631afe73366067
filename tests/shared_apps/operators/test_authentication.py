"""Operator tokens on /api/platform/v1/: who they act as, and everything they refuse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.operators.models import OperatorToken
from shared_apps.operators.services import operator_token_revoke
from tests import factories
from tests.shared_apps.operators.helpers import (
    PLATFORM_API,
    operator_create,
    operator_token_for,
    platform_client,
    with_operator_token,
)
from tests.tenant_apps.api_tokens.helpers import token_for, with_token

pytestmark = pytest.mark.django_db

CLINICS = f"{PLATFORM_API}/clinics/"
CHALLENGE = 'Bearer realm="platform"'


def assert_refused(response, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json()["error"]["code"] == code


def test_an_operator_token_lists_the_fleet_and_sets_no_cookie(world):
    response = with_operator_token(operator_token_for(operator_create())).get(CLINICS)
    assert response.status_code == 200
    assert {"clinic-a", "clinic-b"} <= {c["subdomain"] for c in response.json()["results"]}
    assert "Set-Cookie" not in response


def test_no_token_gets_401_and_the_bearer_challenge(world):
    assert_refused(platform_client().get(CLINICS), "not_authenticated")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer a b", "Basic b3BlcmF0b3I6cGFzcw==", "Token abc", "Bearer " + "x" * 300],
)
def test_a_malformed_or_unknown_authorization_header_gets_401(world, header):
    response = platform_client(header).get(CLINICS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE


def test_an_unknown_token_gets_401(world):
    assert_refused(with_operator_token("not-a-real-token").get(CLINICS), "invalid_token")


def test_a_revoked_token_gets_401(world):
    operator = operator_create()
    token = operator_token_for(operator)
    operator_token_revoke(actor=operator, token=OperatorToken.objects.get(user=operator))
    assert_refused(with_operator_token(token).get(CLINICS), "invalid_token")


def test_an_expired_token_gets_401_and_one_not_yet_expired_works(world):
    operator = operator_create()
    token = operator_token_for(operator)
    row = OperatorToken.objects.get(user=operator)
    row.expires_at = timezone.now() + timedelta(minutes=5)
    row.save()
    assert with_operator_token(token).get(CLINICS).status_code == 200
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save()
    assert_refused(with_operator_token(token).get(CLINICS), "invalid_token")


def test_a_disabled_account_gets_401(world):
    operator = operator_create()
    token = operator_token_for(operator)
    operator.is_active = False
    operator.save()
    assert_refused(with_operator_token(token).get(CLINICS), "user_inactive")


def test_a_token_holder_who_is_no_longer_an_operator_gets_403(world):
    operator = operator_create()
    token = operator_token_for(operator)
    operator.is_operator = False  # flipped by hand: the token itself is still live
    operator.save()
    response = with_operator_token(token).get(CLINICS)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This account is not a platform operator."


def test_a_clinic_api_token_is_worthless_on_the_platform_api(clinic_a, owner_a):
    owner_a.is_operator = True  # even an operator's clinic token opens nothing here
    owner_a.save()
    clinic_token = token_for(clinic_a, owner_a)
    assert_refused(with_operator_token(clinic_token).get(CLINICS), "invalid_token")


def test_an_operator_token_is_worthless_on_a_clinic_api(clinic_a, owner_a):
    owner_a.is_operator = True
    owner_a.save()
    response = with_token(clinic_a, operator_token_for(owner_a)).get("/api/v1/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_clinic_host_never_serves_the_platform_api(clinic_a):
    token = operator_token_for(operator_create())
    client = with_operator_token(token, host=factories.host_of(clinic_a))
    assert client.get(CLINICS).status_code == 404
    assert client.get(f"{PLATFORM_API}/schema/").status_code == 404


def test_last_use_is_recorded_at_most_once_a_minute(world):
    operator = operator_create()
    token = operator_token_for(operator)
    client = with_operator_token(token)
    client.get(CLINICS)
    first = OperatorToken.objects.get(user=operator).last_used_at
    assert first is not None
    client.get(CLINICS)
    assert OperatorToken.objects.get(user=operator).last_used_at == first
    OperatorToken.objects.filter(user=operator).update(
        last_used_at=timezone.now() - timedelta(minutes=2)
    )
    client.get(CLINICS)
    assert OperatorToken.objects.get(user=operator).last_used_at > first


def test_each_token_is_throttled_on_its_own(world, settings):
    settings.OPERATOR_API_THROTTLE_RATE = "2/minute"
    operator = operator_create()
    busy = with_operator_token(operator_token_for(operator, name="busy"))
    assert [busy.get(CLINICS).status_code for _ in range(2)] == [200, 200]
    refused = busy.get(CLINICS)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    other = with_operator_token(operator_token_for(operator, name="other"))
    assert other.get(CLINICS).status_code == 200
