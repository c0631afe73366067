"""Creating a clinic: all of it or none of it."""

import os
import signal
import subprocess
import sys
import textwrap
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import schema_exists, tenant_context

from provisioning.services import (
    ProvisioningStep,
    _registry_row_create,
    clinic_create,
    clinic_resume,
    clinic_suspend,
    validate_subdomain,
)
from shared_apps.accounts.models import Membership, Role
from shared_apps.clinics.models import SCHEMA_NAME_RE, Clinic, Domain
from shared_apps.operators.models import OperatorEvent
from shared_apps.staff.models import Invite
from tenant_apps.audit.models import AuditEvent
from tests import factories
from tests.support.mailbox import links_in

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
        ("xn--80ak6aa92e", "Use 3 to 40"),
        ("a" * 64, "Use 3 to 40"),
        ("d\u0435mo", "Use 3 to 40"),  # a Cyrillic "ie": looks like "demo"
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


@pytest.mark.parametrize("failing_step", list(ProvisioningStep))
def test_a_failure_at_any_step_leaves_nothing_behind(
    world, mailbox, django_capture_on_commit_callbacks, failing_step
):
    """A step that blows up (here: the step listener raising as the step starts) undoes
    every earlier step: no row, no schema, no domain, no membership, no invite, no email."""
    schemas_before = schema_names()
    events_before = OperatorEvent.objects.count()

    def fail_at(step: ProvisioningStep) -> None:
        if step == failing_step:
            raise RuntimeError(f"injected failure at {step}")

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError, match="injected failure"),
    ):
        clinic_create(
            actor=None,
            name="Half Made",
            subdomain="half-made",
            clinic_type="medical",
            owner_email="half-owner@example.com",
            on_step=fail_at,
        )
    assert_no_trace_of("half-made", schemas_before)
    assert not Invite.objects.filter(email="half-owner@example.com").exists()
    assert OperatorEvent.objects.count() == events_before
    assert mailbox == []


def test_a_database_failure_midway_leaves_nothing_behind(world, db):
    """A real constraint failing mid-way (a stray host already routes somewhere)."""
    schemas_before = schema_names()
    Domain.objects.create(domain="taken-host.localhost", tenant=world.clinic_b, is_primary=False)
    with pytest.raises(ValidationError) as raised:
        clinic_create(
            actor=None,
            name="Taken Host",
            subdomain="taken-host",
            clinic_type="dental",
            owner_email="someone@example.com",
        )
    assert raised.value.message_dict == {
        "subdomain": ["This address is already in use. Choose another."]
    }
    assert not Clinic.objects.filter(subdomain="taken-host").exists()
    assert schema_names() == schemas_before


def test_a_killed_process_leaves_nothing_behind(world, db):
    """Provisioning is one transaction: a process killed between steps (after the schema
    was created) leaves no row and no schema once PostgreSQL notices the dead client."""
    schemas_before = schema_names()
    script = textwrap.dedent(
        """
        import sys, time
        from provisioning.services import ProvisioningStep, clinic_create
        from shared_apps.clinics.models import Clinic

        def stall(step):
            if step == ProvisioningStep.DOMAIN:  # the schema exists, uncommitted
                print("schema-made", flush=True)
                time.sleep(60)

        clinic_create(actor=None, name="Killed", subdomain="killed-midway",
                      clinic_type="dental", owner_email="k@example.com", on_step=stall)
        """
    )
    env = {**os.environ, "DATABASE_URL": _test_database_url()}
    child = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "schema-made"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert_no_trace_of("killed-midway", schemas_before)


def test_twin_requests_for_one_subdomain_make_one_clinic(world, db):
    """The registry's unique constraint decides between two creations racing for a name;
    the loser gets a field error, not an IntegrityError."""
    clinic_create(
        actor=None,
        name="First",
        subdomain="twin-name",
        clinic_type="dental",
        owner_email="first@example.com",
    )
    # The second request passed validation before the first committed: skip straight to
    # the registry insert, as it would then run.
    with pytest.raises(ValidationError) as raised, transaction.atomic():
        _registry_row_create(
            name="Second",
            subdomain="twin-name",
            clinic_type="dental",
            time_zone="UTC",
            currency="USD",
            country="",
            plan="trial",
            schema_fingerprint="",
        )
    assert "taken a moment ago" in raised.value.message_dict["subdomain"][0]
    assert Clinic.objects.filter(subdomain="twin-name").count() == 1


def assert_no_trace_of(subdomain: str, schemas_before: set[str]) -> None:
    assert not Clinic.objects.filter(subdomain=subdomain).exists()
    assert not Domain.objects.filter(domain__startswith=f"{subdomain}.").exists()
    assert schema_names() == schemas_before


def _test_database_url() -> str:
    settings_dict = connection.settings_dict
    return (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )


def schema_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'c\\_%'")
        return {row[0] for row in cursor.fetchall()}


def test_a_clinic_made_for_someone_else_invites_its_owner(
    world, mailbox, django_capture_on_commit_callbacks, clinic_client
):
    with django_capture_on_commit_callbacks(execute=True):
        clinic = clinic_create(
            actor=None,
            name="Invited Owner Dental",
            subdomain="invited-owner",
            clinic_type="dental",
            owner_email="future-owner@example.com",
        )
    invite = Invite.objects.get(clinic=clinic)
    assert (invite.email, invite.role) == ("future-owner@example.com", Role.OWNER)
    assert not Membership.objects.filter(clinic=clinic).exists()  # until they accept
    [message] = mailbox
    assert message.to == ["future-owner@example.com"]
    assert "The DR. CRM team invited you to join Invited Owner Dental" in message.subject
    [accept_link] = [link for link in links_in(message) if "/invite/" in link]
    assert urlsplit(accept_link).hostname == "invited-owner.localhost"
    page = clinic_client(clinic).get(urlsplit(accept_link).path)
    assert page.status_code == 200
    assert b"Owner" in page.content


def test_suspend_and_resume_close_and_reopen_the_clinic(
    world, db, clinic_a, clinic_client, owner_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        suspended = clinic_suspend(actor=None, clinic=clinic_a, reason="Unpaid since March")
    assert (suspended.status, suspended.status_reason) == ("suspended", "Unpaid since March")
    assert clinic_client(clinic_a, owner_a).get("/").status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        resumed = clinic_resume(actor=None, clinic=clinic_a, reason="Paid")
    assert resumed.status == Clinic.Status.ACTIVE
    assert clinic_client(clinic_a, owner_a).get("/").status_code == 200
    with tenant_context(clinic_a):
        actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-2:] == ["clinic.suspend", "clinic.resume"]
    assert list(
        OperatorEvent.objects.filter(clinic_id=clinic_a.pk)
        .order_by("pk")
        .values_list("action", flat=True)
    )[-2:] == ["clinic.suspend", "clinic.resume"]


def test_suspend_needs_a_reason_and_an_active_clinic(world, db, clinic_a):
    with pytest.raises(ValidationError) as raised:
        clinic_suspend(actor=None, clinic=clinic_a, reason="  ")
    assert raised.value.message_dict == {"reason": ["Say why the clinic is suspended."]}
    with pytest.raises(ValidationError) as raised:
        clinic_resume(actor=None, clinic=clinic_a)
    assert raised.value.message_dict == {"status": ["The clinic is active."]}
    clinic_a.refresh_from_db()
    assert clinic_a.status == Clinic.Status.ACTIVE


def test_a_clinic_being_upgraded_answers_503_and_asks_to_retry(
    world, db, clinic_a, clinic_client, owner_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Clinic.objects.filter(pk=clinic_a.pk).update(status=Clinic.Status.MAINTENANCE)
        Clinic.objects.get(pk=clinic_a.pk).save()  # the save signal refreshes routing
    response = clinic_client(clinic_a, owner_a).get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert b"being upgraded" in response.content
