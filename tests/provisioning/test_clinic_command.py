"""`manage.py clinic`: every subcommand, its JSON, and one-line errors with exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import tenant_context

from provisioning.demo import DEMO_PASSWORD, DEMO_STAFF, demo_email
from shared_apps.accounts.models import Membership, User
from shared_apps.clinics.models import Clinic
from shared_apps.operators.models import OperatorEvent
from shared_apps.staff.models import Invite
from tenant_apps.patients.models import Patient, PatientConsent
from tests import factories

pytestmark = pytest.mark.django_db

CLINIC_KEYS = {
    "subdomain",
    "name",
    "host",
    "status",
    "status_reason",
    "status_changed_at",
    "plan",
    "clinic_type",
    "country",
    "time_zone",
    "currency",
    "created_at",
    "schema_up_to_date",
    "owner_emails",
    "usage",
}
CREATE = [
    "create",
    "--name=Harbour Dental",
    "--subdomain=harbour-dental",
    "--type=dental",
    "--owner-email=dr.harbour@example.com",
    "--country=GB",
    "--time-zone=Europe/London",
    "--currency=GBP",
]


def clinic(*args: str) -> str:
    out = StringIO()
    call_command("clinic", *args, stdout=out)
    return out.getvalue()


def clinic_json(*args: str) -> dict:
    return json.loads(clinic(*args, "--json"))


def refusal(*args: str) -> str:
    with pytest.raises(CommandError) as raised:
        clinic(*args)
    message = str(raised.value)
    assert "\n" not in message
    return message


# --- create ------------------------------------------------------------------------------


def test_create_invites_the_owner_and_prints_the_clinic_as_json(world):
    created = clinic_json(*CREATE)
    assert set(created) == CLINIC_KEYS
    assert set(created["usage"]) == {"members", "patients", "storage_bytes"}
    assert created["subdomain"] == "harbour-dental"
    assert created["host"] == "harbour-dental.localhost"
    assert (created["status"], created["time_zone"], created["currency"]) == (
        "active",
        "Europe/London",
        "GBP",
    )
    new = Clinic.objects.get(subdomain="harbour-dental")
    assert Invite.objects.get(clinic=new).email == "dr.harbour@example.com"
    event = OperatorEvent.objects.get(action="clinic.create", clinic_id=new.pk)
    assert event.source == "command:clinic"


def test_create_shows_its_steps_and_the_invite(world):
    output = clinic(*CREATE)
    assert "Creating the clinic's database ..." in output
    assert "Invite sent to dr.harbour@example.com." in output


def test_create_with_demo_makes_an_owner_who_can_sign_in(world):
    created = clinic_json(*CREATE, "--demo")
    assert created["owner_emails"] == ["dr.harbour@example.com"]
    owner = User.objects.get(email="dr.harbour@example.com")
    assert owner.check_password(DEMO_PASSWORD)
    assert Membership.objects.get(user=owner, clinic__subdomain="harbour-dental").role == "owner"


def test_create_names_each_bad_option_on_one_line(world):
    message = refusal(
        "create",
        "--name= ",
        "--subdomain=clinic-a",
        "--type=spa",
        "--owner-email=x@example.com",
        "--time-zone=Mars/Base",
    )
    assert "name: Enter the clinic's name." in message
    assert "subdomain: This address is already taken." in message
    assert "type: Choose medical or dental." in message
    assert "time-zone: Choose a time zone such as Europe/London." in message
    assert not Clinic.objects.filter(subdomain="clinic-a", name=" ").exists()


def test_create_with_demo_is_refused_in_production(world, settings):
    settings.IS_PRODUCTION = True
    assert "development only" in refusal(*CREATE, "--demo")
    assert not User.objects.filter(email="dr.harbour@example.com").exists()


# --- list --------------------------------------------------------------------------------


def test_list_as_json_searches_and_filters(world):
    everything = clinic_json("list")
    assert everything["count"] == len(everything["clinics"]) >= 2
    assert all(set(c) == CLINIC_KEYS for c in everything["clinics"])
    found = clinic_json("list", "--search=owner@CLINIC-B.example")
    assert [c["subdomain"] for c in found["clinics"]] == ["clinic-b"]
    assert clinic_json("list", "--status=suspended") == {"count": 0, "clinics": []}


def test_list_prints_a_table(world):
    lines = clinic("list", "--search=clinic-").splitlines()
    assert lines[0].split() == [
        "SUBDOMAIN",
        "NAME",
        "STATUS",
        "PLAN",
        "MEMBERS",
        "PATIENTS",
        "STORAGE",
        "OWNER",
    ]
    row_a = next(line for line in lines if line.startswith("clinic-a "))
    assert "MARK-A Smile Dental" in row_a
    assert "owner@clinic-a.example" in row_a
    assert lines[-1] == "2 clinics"
    assert clinic("list", "--search=nothing-like-this").strip() == "No clinics match."


def test_list_refuses_an_unknown_status(world):
    assert refusal("list", "--status=deleted").startswith("status: Choose one of: ")


# --- suspend, resume, info ---------------------------------------------------------------


def test_suspend_and_resume(world):
    suspended = clinic_json("suspend", "clinic-b", "--reason=Unpaid since March")
    assert (suspended["status"], suspended["status_reason"]) == ("suspended", "Unpaid since March")
    assert refusal("suspend", "clinic-b", "--reason=again") == "status: The clinic is suspended."
    assert clinic("resume", "clinic-b").strip() == "Resumed MARK-B Family Medical (clinic-b)."
    assert Clinic.objects.get(subdomain="clinic-b").status == Clinic.Status.ACTIVE
    actions = OperatorEvent.objects.filter(clinic_subdomain="clinic-b", source="command:clinic")
    assert sorted(actions.values_list("action", flat=True)) == ["clinic.resume", "clinic.suspend"]


def test_wrong_status_missing_reason_and_unknown_clinic_are_one_line_errors(world):
    assert refusal("resume", "clinic-a") == "status: The clinic is active."
    assert refusal("suspend", "clinic-a", "--reason= ") == (
        "reason: Say why the clinic is suspended."
    )
    assert refusal("info", "no-such-clinic") == "No clinic at 'no-such-clinic'."
    assert refusal("seed-demo", "no-such-clinic") == "No clinic at 'no-such-clinic'."


def test_info_shows_registry_usage_domains_and_schema_state(world, clinic_a):
    info = clinic_json("info", "clinic-a")
    assert set(info) == CLINIC_KEYS | {
        "schema_name",
        "schema_fingerprint",
        "current_fingerprint",
        "domains",
    }
    assert info["domains"] == [{"domain": "clinic-a.localhost", "is_primary": True}]
    assert info["schema_name"] == clinic_a.schema_name
    assert info["schema_fingerprint"] == info["current_fingerprint"]
    assert info["usage"]["members"] == 3
    text = clinic("info", "clinic-a")
    assert "clinic-a.localhost (primary)" in text
    assert "up to date" in text
    Clinic.objects.filter(pk=clinic_a.pk).update(schema_fingerprint="0" * 64)
    assert "BEHIND" in clinic("info", "clinic-a")
    assert clinic_json("info", "clinic-a")["schema_up_to_date"] is False


# --- seed-demo ---------------------------------------------------------------------------


def test_seed_demo_adds_the_staff_once(world, clinic_b, outsider_b):
    seeded = clinic_json("seed-demo", "clinic-b")
    assert seeded["subdomain"] == "clinic-b"
    assert [login["role"] for login in seeded["logins"]] == [p.role for p in DEMO_STAFF]
    for person in DEMO_STAFF[1:]:
        user = User.objects.get(email=demo_email(person, "clinic-b"))
        assert user.check_password(DEMO_PASSWORD)
        assert user.full_name == person.full_name
        membership = Membership.objects.get(user=user, clinic=clinic_b)
        assert (membership.role, membership.is_active) == (person.role, True)
    # owner@clinic-b.example existed already: reused as it was, its password untouched
    assert seeded["logins"][0] == {
        "email": "owner@clinic-b.example",
        "full_name": "Oscar Outsider",
        "role": "owner",
        "password": None,
    }
    assert User.objects.get(pk=outsider_b.pk).check_password(factories.PASSWORD)
    assert {login["password"] for login in seeded["logins"][1:]} == {DEMO_PASSWORD}
    counts = (User.objects.count(), Membership.objects.count())

    again = clinic_json("seed-demo", "clinic-b")

    assert (User.objects.count(), Membership.objects.count()) == counts
    assert again["seeded"] == [
        "staff: 7 people, 0 added or restored",
        "patients: already there",
        "calendar: already there",
    ]
    assert again["logins"] == seeded["logins"]


def test_seed_demo_adds_numbered_patients_once(world, clinic_b):
    assert clinic_json("seed-demo", "clinic-b")["seeded"][1] == "patients: 60 added"
    with tenant_context(clinic_b):
        numbers = list(Patient.objects.order_by("sequence").values_list("number", flat=True))
        opted_in = PatientConsent.objects.filter(channel="whatsapp", opted_in=True).count()
    assert numbers == [f"P-{n:06d}" for n in range(1, 61)]
    assert opted_in == 20
    clinic("seed-demo", "clinic-b")
    with tenant_context(clinic_b):
        assert Patient.objects.count() == 60


def test_seed_demo_fills_a_week_of_the_calendar_once(world, clinic_b):
    import datetime as dt
    import zoneinfo

    from django.utils import timezone

    from tenant_apps.scheduling.models import Appointment, Practitioner, WaitlistEntry

    before = timezone.now()
    clinic("seed-demo", "clinic-b")
    zone = zoneinfo.ZoneInfo(clinic_b.time_zone)
    today = before.astimezone(zone).date()
    with tenant_context(clinic_b):
        assert Practitioner.objects.count() == 3
        assert all(p.working_periods.exists() for p in Practitioner.objects.all())
        appointments = list(Appointment.objects.all())
        days = {a.starts_at.astimezone(zone).date() for a in appointments}
        week = (today - dt.timedelta(days=3), today + dt.timedelta(days=4))
        assert week[0] <= min(days) <= max(days) <= week[1]
        # What has already happened was dealt with: nobody left "booked" in the past.
        done = {"completed", "no_show", "cancelled"}
        assert all(a.status in done for a in appointments if a.ends_at <= before)
        assert WaitlistEntry.objects.count() == 3
        count = len(appointments)
    clinic("seed-demo", "clinic-b")
    with tenant_context(clinic_b):
        assert Appointment.objects.count() == count


def test_seed_demo_of_a_new_clinic_prints_everyones_login(world):
    clinic(
        "create",
        "--name=Fresh Demo",
        "--subdomain=fresh-demo",
        "--type=medical",
        "--owner-email=owner@fresh-demo.example",
        "--demo",
    )
    lines = clinic("seed-demo", "fresh-demo").splitlines()
    assert lines[0] == "Seeded staff: 7 people, 6 added or restored"
    assert lines[1] == "Seeded patients: 60 added"
    assert lines[2].startswith("Seeded calendar: 3 practitioners, 3 rooms, 5 types, ")
    assert lines[3] == f"Demo staff (password {DEMO_PASSWORD} unless shown otherwise):"
    assert [line.split() for line in lines[4:]] == [
        [demo_email(person, "fresh-demo"), person.role] for person in DEMO_STAFF
    ]


def test_seed_demo_restores_a_deactivated_or_changed_demo_member(world, clinic_b):
    clinic("seed-demo", "clinic-b")
    manager = Membership.objects.get(clinic=clinic_b, user__email="manager@clinic-b.example")
    manager.is_active = False
    manager.role = "billing"
    manager.save()
    assert clinic_json("seed-demo", "clinic-b")["seeded"] == [
        "staff: 7 people, 1 added or restored",
        "patients: already there",
        "calendar: already there",
    ]
    manager.refresh_from_db()
    assert (manager.role, manager.is_active) == ("admin", True)


def test_seed_demo_is_refused_in_production(world, settings):
    settings.IS_PRODUCTION = True
    assert "development only" in refusal("seed-demo", "clinic-b")
    assert (
        not User.objects.filter(email__endswith="@clinic-b.example")
        .exclude(email="owner@clinic-b.example")
        .exists()
    )


# --- the real command line: exit codes and stderr ----------------------------------------


def run_command(*args: str) -> subprocess.CompletedProcess[str]:
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "clinic", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_from_a_shell_bad_input_exits_1_with_one_line_on_stderr(world):
    result = run_command(
        "create", "--name=X", "--subdomain=clinic-a", "--type=dental", "--owner-email=x@e.com"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["CommandError: subdomain: This address is already taken."]


def test_from_a_shell_list_json_parses_and_a_malformed_command_line_exits_2(world):
    listed = run_command("list", "--json", "--search=clinic-")
    assert listed.returncode == 0, listed.stderr
    assert {c["subdomain"] for c in json.loads(listed.stdout)["clinics"]} == {
        "clinic-a",
        "clinic-b",
    }
    malformed = run_command("suspend")
    assert malformed.returncode == 2
    assert "the following arguments are required: subdomain, --reason" in malformed.stderr
