"""Creating a clinic: all of it or none of it."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from provisioning.services import clinic_create, validate_subdomain
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import SCHEMA_NAME_RE, Clinic, Domain
from tenant_apps.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_creates_an_active_clinic_with_schema_domain_owner_and_audit_row(clinic_client):
    owner = factories.user_create(email="new-owner@example.com")
    clinic = clinic_create(
        actor=None,
        name="Bright Teeth",
        subdomain="bright-teeth",
        clinic_type="dental",
        owner=owner,
        time_zone="Europe/Lisbon",
        currency="EUR",
    )
    assert clinic.status == Clinic.Status.ACTIVE
    assert SCHEMA_NAME_RE.match(clinic.schema_name)
    assert schema_exists(clinic.schema_name)
    assert Domain.objects.get(tenant=clinic).domain == "bright-teeth.localhost"
    assert Membership.objects.get(clinic=clinic).role == Role.OWNER
    with tenant_context(clinic):
        assert AuditEvent.objects.order_by("pk").first().action == "clinic.create"
    assert b"Bright Teeth" in clinic_client(clinic).get("/sign-in/").content


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("Demo", "Use lower case letters only."),
        ("demo-", "Use 3 to 40"),
        ("-demo", "Use 3 to 40"),
        ("ab", "Use 3 to 40"),
        ("a" * 41, "Use 3 to 40"),
        ("x--y", "Use 3 to 40"),
        ("dr.crm", "Use 3 to 40"),
        ("www", "This address is reserved."),
        ("api", "This address is reserved."),
        ("clinic-a", "This address is already taken."),
    ],
)
def test_it_refuses_a_bad_subdomain_with_a_clear_message(world, db, subdomain, message):
    with pytest.raises(ValidationError) as raised:
        validate_subdomain(subdomain)
    assert message in " ".join(raised.value.messages)


def test_it_reports_every_bad_field_at_once_and_creates_nothing(world, db):
    owner = factories.user_create()
    before = set(Clinic.objects.values_list("pk", flat=True))
    with pytest.raises(ValidationError) as raised:
        clinic_create(
            actor=None,
            name=" ",
            subdomain="www",
            clinic_type="vet",
            owner=owner,
            time_zone="Mars/Olympus",
            currency="euro",
        )
    assert set(raised.value.message_dict) == {
        "name",
        "subdomain",
        "clinic_type",
        "time_zone",
        "currency",
    }
    assert set(Clinic.objects.values_list("pk", flat=True)) == before


def test_a_failure_midway_leaves_no_schema_and_no_row(world, db):
    schemas_before = schema_names()
    unsaved_owner = User(email="ghost@example.com")  # the membership step will fail
    with pytest.raises(ValueError, match="unsaved related object"):
        clinic_create(
            actor=None,
            name="Half Made",
            subdomain="half-made",
            clinic_type="medical",
            owner=unsaved_owner,
        )
    assert not Clinic.objects.filter(subdomain="half-made").exists()
    assert not Domain.objects.filter(domain__startswith="half-made.").exists()
    assert schema_names() == schemas_before


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'c\\_%'")
        return {row[0] for row in cursor.fetchall()}
