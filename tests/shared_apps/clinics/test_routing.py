"""Host -> clinic routing: every host gets the right site, or a clear 4xx page."""

import logging
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from shared_apps.clinics.models import Clinic
from shared_apps.clinics.routing import GENERATION_KEY
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_apex_domain_serves_the_public_site(public_client):
    response = public_client.get("/")
    assert response.status_code == 200
    assert b"Run your clinic" in response.content


def test_a_clinic_host_serves_that_clinic_and_no_other(clinic_client, clinic_a, clinic_b):
    response = clinic_client(clinic_a).get("/sign-in/")
    assert response.status_code == 200
    assert b"MARK-A Smile Dental" in response.content
    assert b"MARK-B" not in response.content


def test_an_unknown_subdomain_gets_a_friendly_404_not_the_public_site(db):
    response = Client(HTTP_HOST=f"no-such-clinic.{settings.BASE_DOMAIN}").get("/")
    assert response.status_code == 404
    assert b"No clinic at this address" in response.content
    assert b"Run your clinic" not in response.content


def test_an_unknown_subdomain_answers_the_api_in_json(db):
    response = Client(HTTP_HOST=f"no-such-clinic.{settings.BASE_DOMAIN}").get("/api/v1/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "clinic_not_found"


@pytest.mark.parametrize("host", ["evil.example.com", "bad host!", "a" * 300, "[::1"])
def test_a_host_outside_our_domain_or_malformed_gets_a_400_page(db, host, caplog):
    with caplog.at_level(logging.WARNING):
        response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 400
    assert b"Unknown address" in response.content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_x_forwarded_host_cannot_switch_the_clinic(clinic_a, clinic_b):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    response = client.get("/sign-in/", HTTP_X_FORWARDED_HOST=factories.host_of(clinic_b))
    assert b"MARK-A Smile Dental" in response.content
    assert b"MARK-B" not in response.content


@pytest.mark.parametrize(
    "host", ["www.clinic-a.localhost:8000", "Clinic-A.LOCALHOST", "clinic-a.localhost."]
)
def test_the_same_clinic_answers_whatever_the_case_port_www_or_trailing_dot(world, db, host):
    response = Client(HTTP_HOST=host).get("/sign-in/")
    assert response.status_code == 200
    assert b"MARK-A Smile Dental" in response.content


def test_a_suspended_clinic_gets_a_403_page_that_says_so(clinic_a, clinic_client):
    Clinic.objects.filter(pk=clinic_a.pk).update(status=Clinic.Status.SUSPENDED)
    response = clinic_client(clinic_a).get("/")
    assert response.status_code == 403
    assert b"This clinic is suspended" in response.content
    api = clinic_client(clinic_a).get("/api/v1/")
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "clinic_suspended"


def test_a_clinic_being_provisioned_asks_to_retry(clinic_a, clinic_client):
    Clinic.objects.filter(pk=clinic_a.pk).update(status=Clinic.Status.PROVISIONING)
    response = clinic_client(clinic_a).get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"


def test_a_clinic_row_without_a_schema_is_refused_without_an_error_log(
    clinic_a, clinic_client, caplog
):
    Clinic.objects.filter(pk=clinic_a.pk).update(schema_name="c_vanished")
    with caplog.at_level(logging.INFO):
        response = clinic_client(clinic_a).get("/sign-in/")
    assert response.status_code == 404
    assert b"Clinic unavailable" in response.content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_routing_costs_no_database_query_on_a_warm_worker(clinic_a):
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    with CaptureQueriesContext(connection) as cold:
        assert client.get("/no-such-page/").status_code == 404
    with CaptureQueriesContext(connection) as warm:
        assert client.get("/no-such-page/").status_code == 404
    assert any("clinics_domain" in q["sql"] for q in cold.captured_queries)
    assert warm.captured_queries == []


def test_a_change_saved_in_this_process_reroutes_the_next_request(
    clinic_a, clinic_client, django_capture_on_commit_callbacks
):
    client = clinic_client(clinic_a)
    assert client.get("/sign-in/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        clinic_a.status = Clinic.Status.SUSPENDED
        clinic_a.save(update_fields=["status"])
    assert client.get("/sign-in/").status_code == 403


def test_a_change_announced_by_another_worker_reroutes_after_the_check_interval(
    clinic_a, clinic_client, settings
):
    settings.CLINIC_ROUTING_CHECK_INTERVAL = 0  # check Redis on every request
    client = clinic_client(clinic_a)
    assert client.get("/sign-in/").status_code == 200
    # Another process suspends the clinic: the row changes without our signals firing...
    Clinic.objects.filter(pk=clinic_a.pk).update(status=Clinic.Status.SUSPENDED)
    assert client.get("/sign-in/").status_code == 200  # ...so our map is stale until
    with schema_context("public"):  # ...that process bumps the shared generation.
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    assert client.get("/sign-in/").status_code == 403


def test_within_the_check_interval_a_warm_worker_asks_nobody(clinic_a, settings):
    settings.CLINIC_ROUTING_CHECK_INTERVAL = 3600
    client = Client(HTTP_HOST=factories.host_of(clinic_a))
    assert client.get("/sign-in/").status_code == 200
    Clinic.objects.filter(pk=clinic_a.pk).update(status=Clinic.Status.SUSPENDED)
    with schema_context("public"):
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    # Stale by design until the interval passes; this process' own saves clear it at once.
    assert client.get("/sign-in/").status_code == 200
