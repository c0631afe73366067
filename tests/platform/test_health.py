"""Liveness and readiness probes: any host, no authentication, no data."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "host", ["localhost", "clinic-a.localhost", "nowhere.localhost", "10.0.0.7"]
)
def test_liveness_answers_on_every_host(world, host):
    response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_checks_the_database_and_redis(clinic_a):
    response = Client(HTTP_HOST=factories.host_of(clinic_a)).get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
    assert b"MARK-A" not in response.content


def test_readiness_reports_redis_down_with_503(db):
    unreachable = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    with override_settings(CACHES=unreachable):
        response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "down"}
