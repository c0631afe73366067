"""Fleet migrations (`manage.py migrate_clinics`): every clinic schema brought to the code.

"Behind" is made for real: Django's executor unapplies a migration in a clinic's schema
(audit 0002, the append-only triggers; or all of api_tokens, a table) and the clinic's
fingerprint is set to an older one. Most tests run the command in this process with one
worker, inside the test's transaction (rolled back after it); the test with worker
processes commits its clinics, since other processes cannot see uncommitted rows, and
removes them again.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from provisioning.fleet import (
    FAILED_REASON_PREFIX,
    MAINTENANCE_REASON,
    ClinicToMigrate,
    FleetEvent,
    clinics_behind,
    fleet_migrate,
)
from provisioning.management.commands.migrate_clinics import Progress
from provisioning.services import clinic_suspend
from provisioning.template import current_fingerprint, schema_ddl
from shared_apps.clinics.models import Clinic
from shared_apps.operators.models import OperatorEvent
from tests import factories

OLD_FINGERPRINT = "0" * 64
T = TypeVar("T")
AUDIT_0002 = ("audit", "0002_audit_append_only")
AUDIT_TRIGGERS = {"audit_event_no_update_or_delete", "audit_event_no_truncate"}


@pytest.fixture(autouse=True)
def _no_routing_wait(settings: Any) -> None:
    # Nothing serves requests here; the wait for web workers' routing maps is not tested.
    settings.CLINIC_ROUTING_CHECK_INTERVAL = 0


def unapply(clinic: Clinic, target: tuple[str, str | None]) -> None:
    """Take the clinic's schema back to `target` with Django's own executor."""
    tenant_connection: Any = connection
    tenant_connection.set_schema(clinic.schema_name)
    try:
        MigrationExecutor(connection).migrate([target])
    finally:
        tenant_connection.set_schema_to_public()
    Clinic.objects.filter(pk=clinic.pk).update(schema_fingerprint=OLD_FINGERPRINT)


def behind_clinic(**kw: Any) -> Clinic:
    clinic = factories.clinic_make(**kw)
    unapply(clinic, ("audit", "0001_initial"))
    return clinic


def audit_triggers(clinic: Clinic) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'audit_auditevent' AND NOT t.tgisinternal",
            [clinic.schema_name],
        )
        return {row[0] for row in cursor.fetchall()}


def recorded(clinic: Clinic, node: tuple[str, str]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{clinic.schema_name}".django_migrations WHERE app = %s AND name = %s',
            list(node),
        )
        return cursor.fetchone() is not None


def fresh(clinic: Clinic) -> Clinic:
    return Clinic.objects.get(pk=clinic.pk)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("migrate_clinics", "--workers", "1", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_migrates_every_clinic_that_is_behind_and_reopens_it(db: None) -> None:
    first, second = behind_clinic(), behind_clinic()
    current = factories.clinic_make()
    assert audit_triggers(first) == set()

    out, _ = run()

    for clinic in (first, second):
        assert audit_triggers(clinic) == AUDIT_TRIGGERS
        assert recorded(clinic, AUDIT_0002)
        after = fresh(clinic)
        assert after.schema_fingerprint == current_fingerprint()
        assert after.status == Clinic.Status.ACTIVE
        assert after.status_reason == ""
    assert fresh(current).status_changed_at == current.status_changed_at  # not touched
    assert "Migrated 2 of 2 clinic(s)" in out
    event = OperatorEvent.objects.filter(action="fleet.migrate").latest("pk")
    assert event.source == "command:migrate_clinics"
    assert event.details["behind"] == 2
    assert event.details["migrated"] == 2
    assert event.details["failed"] == 0


def test_an_active_clinic_is_closed_for_maintenance_while_its_schema_is_behind(
    db: None,
) -> None:
    clinic = behind_clinic()
    seen: list[tuple[str, str, str]] = []

    def look(event: FleetEvent) -> None:
        row = fresh(clinic)
        seen.append((event.kind, row.status, row.status_reason))

    result = fleet_migrate(actor=None, workers=1, on_event=look)

    assert result.ok
    assert seen == [
        ("start", Clinic.Status.MAINTENANCE, MAINTENANCE_REASON),
        ("done", Clinic.Status.ACTIVE, ""),
    ]


def test_a_suspended_clinic_is_migrated_and_stays_suspended(db: None) -> None:
    clinic = behind_clinic()
    clinic_suspend(actor=None, clinic=clinic, reason="Unpaid invoices")
    statuses: list[str] = []

    fleet_migrate(actor=None, workers=1, on_event=lambda _e: statuses.append(fresh(clinic).status))

    assert statuses == [Clinic.Status.SUSPENDED, Clinic.Status.SUSPENDED]
    after = fresh(clinic)
    assert after.status == Clinic.Status.SUSPENDED
    assert after.status_reason == "Unpaid invoices"
    assert after.schema_fingerprint == current_fingerprint()
    assert audit_triggers(clinic) == AUDIT_TRIGGERS


def test_one_broken_clinic_does_not_stop_the_others_and_a_rerun_finishes_it(db: None) -> None:
    broken, healthy = behind_clinic(), behind_clinic()
    # Someone made by hand what the migration creates: its CREATE FUNCTION fails.
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE FUNCTION "{broken.schema_name}".audit_event_is_append_only() '
            "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$"
        )

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 clinic\\(s\\) not migrated"):
        call_command("migrate_clinics", workers=1, stdout=out, stderr=err)

    after = fresh(broken)
    assert after.status == Clinic.Status.MAINTENANCE
    assert after.status_reason.startswith(FAILED_REASON_PREFIX)
    assert "already exists" in after.status_reason
    assert "CREATE" not in after.status_reason
    assert len(after.status_reason) < 260
    assert after.schema_fingerprint == OLD_FINGERPRINT
    assert not recorded(broken, AUDIT_0002)
    assert f"FAILED {broken.subdomain}: " in err.getvalue()
    assert fresh(healthy).status == Clinic.Status.ACTIVE
    assert audit_triggers(healthy) == AUDIT_TRIGGERS
    failure = OperatorEvent.objects.filter(action="clinic.migrate_failed").latest("pk")
    assert failure.clinic_subdomain == broken.subdomain

    # The operator removes the stray function; the next run picks up only the broken one.
    with connection.cursor() as cursor:
        cursor.execute(f'DROP FUNCTION "{broken.schema_name}".audit_event_is_append_only()')
    healthy_changed_at = fresh(healthy).status_changed_at
    started: list[str] = []
    result = fleet_migrate(
        actor=None,
        workers=1,
        on_event=lambda e: started.append(e.clinic.subdomain) if e.kind == "start" else None,
    )
    assert result.ok
    assert started == [broken.subdomain]
    assert fresh(broken).status == Clinic.Status.ACTIVE
    assert fresh(broken).status_reason == ""
    assert audit_triggers(broken) == AUDIT_TRIGGERS
    assert fresh(healthy).status_changed_at == healthy_changed_at


def test_a_clinic_left_in_maintenance_by_a_killed_run_is_reopened(db: None) -> None:
    clinic = behind_clinic()
    # A run that died after the schema commit cannot exist (one transaction); one that died
    # before it leaves exactly this: closed, behind.
    Clinic.objects.filter(pk=clinic.pk).update(
        status=Clinic.Status.MAINTENANCE, status_reason=MAINTENANCE_REASON
    )

    run()

    assert fresh(clinic).status == Clinic.Status.ACTIVE
    assert audit_triggers(clinic) == AUDIT_TRIGGERS


def test_the_work_is_found_in_a_single_query(db: None) -> None:
    behind = [behind_clinic(), behind_clinic()]
    current = factories.clinic_make()
    fingerprint = current_fingerprint()

    with CaptureQueriesContext(connection) as captured:
        found = clinics_behind(fingerprint)

    # django-tenants sets the search_path before each statement; that is not a query.
    queries = [q["sql"] for q in captured if not q["sql"].startswith("SET search_path")]
    assert len(queries) == 1

    subdomains = {c.subdomain for c in found}
    assert {c.subdomain for c in behind} <= subdomains
    assert current.subdomain not in subdomains


def test_a_clinic_being_provisioned_is_never_touched(db: None) -> None:
    clinic = behind_clinic()
    Clinic.objects.filter(pk=clinic.pk).update(status=Clinic.Status.PROVISIONING)

    run()

    assert audit_triggers(clinic) == set()
    assert fresh(clinic).status == Clinic.Status.PROVISIONING
    assert fresh(clinic).schema_fingerprint == OLD_FINGERPRINT


def test_dry_run_lists_what_would_be_migrated_and_changes_nothing(db: None) -> None:
    clinic = behind_clinic()
    events_before = OperatorEvent.objects.count()

    out, _ = run("--dry-run")

    assert "1 clinic(s) would be migrated" in out
    assert f"{clinic.subdomain} (active): audit.0002_audit_append_only" in out
    assert audit_triggers(clinic) == set()
    assert fresh(clinic).status == Clinic.Status.ACTIVE
    assert OperatorEvent.objects.count() == events_before


def test_json_summary_names_failures_and_the_exit_is_non_zero(db: None) -> None:
    broken, healthy = behind_clinic(), behind_clinic()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{broken.schema_name}".audit_auditevent')

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("migrate_clinics", "--workers=1", "--json", stdout=out, stderr=io.StringIO())

    summary = json.loads(out.getvalue())
    assert summary["behind"] == 2
    assert summary["migrated"] == 1
    assert summary["not_reached"] == []
    [failure] = summary["failed"]
    assert failure["subdomain"] == broken.subdomain
    assert "audit_auditevent" in failure["error"]
    assert "\n" not in failure["error"]
    assert fresh(healthy).status == Clinic.Status.ACTIVE


def test_json_summary_of_a_clean_run(db: None) -> None:
    behind_clinic()
    out, _ = run("--json")
    summary = json.loads(out)
    assert summary["behind"] == 1
    assert summary["migrated"] == 1
    assert summary["failed"] == []
    assert summary["fingerprint"] == current_fingerprint()


@pytest.mark.parametrize("workers", ["0", "-1", "500"])
def test_a_bad_worker_count_is_refused_with_one_line(db: None, workers: str) -> None:
    with pytest.raises(CommandError, match="--workers must be a whole number from 1 to"):
        call_command("migrate_clinics", f"--workers={workers}")


# --- worker processes, on committed clinics --------------------------------------------


def in_a_connection_of_its_own(work: Callable[[], T]) -> T:
    """Runs `work` in a short-lived thread, hence on a database connection of its own.

    The test's connection sits in the transaction `django_db` rolls back, and forked
    workers only see committed rows; what runs here commits (as in tests/browser).
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="fleet-test-committed")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return cast(T, outcome[0])


@dataclass
class Committed:
    clinics: list[Clinic] = field(default_factory=list)
    users: list[Any] = field(default_factory=list)
    last_event: int = 0

    def remove(self) -> None:
        """Everything made, dropped; the operator events removed too: the trail is
        append-only for the application, so its trigger is set aside for this transaction."""
        connection.set_schema_to_public()
        with transaction.atomic(), connection.cursor() as cursor:
            for clinic in self.clinics:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{clinic.schema_name}" CASCADE')
            Clinic.objects.filter(pk__in=[c.pk for c in self.clinics]).delete()
            for user in self.users:
                user.delete()
            cursor.execute("ALTER TABLE operators_operatorevent DISABLE TRIGGER USER")
            cursor.execute("DELETE FROM operators_operatorevent WHERE id > %s", [self.last_event])
            cursor.execute("ALTER TABLE operators_operatorevent ENABLE TRIGGER USER")


@pytest.fixture
def committed(world: Any, db: None) -> Iterator[Committed]:
    """Clinics made outside the test's transaction, so forked workers see them; removed after."""
    made = Committed()
    made.last_event = in_a_connection_of_its_own(
        lambda: OperatorEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    )
    try:
        yield made
    finally:
        in_a_connection_of_its_own(made.remove)


def make_behind_committed(made: Committed) -> None:
    owner = factories.user_create()
    made.users.append(owner)
    for _ in range(5):
        made.clinics.append(factories.clinic_make(owner=owner))
    for clinic in made.clinics[:-1]:
        # All of api_tokens goes: its table, its rows in django_migrations and the content
        # type; the fleet run must bring back all three, as the template has them.
        unapply(clinic, ("api_tokens", None))
        with connection.cursor() as cursor:
            cursor.execute(
                f'DELETE FROM "{clinic.schema_name}".django_content_type '
                "WHERE app_label = 'api_tokens'"
            )


def test_worker_processes_migrate_committed_clinics_to_what_the_template_makes(
    committed: Committed, settings: Any
) -> None:
    # Everything on connections of their own: a read of a clinic's table from the test's
    # transaction would hold a lock until the end of the test, and the clean-up's DROP
    # SCHEMA would wait for it forever.
    own = in_a_connection_of_its_own
    own(lambda: make_behind_committed(committed))
    *behind, reference = committed.clinics
    assert own(lambda: content_types(behind[0]) != content_types(reference))
    settings.FLEET_MIGRATION_WORKERS = 2

    out = io.StringIO()
    own(lambda: call_command("migrate_clinics", "--json", stdout=out, stderr=io.StringIO()))

    summary = json.loads(out.getvalue())
    assert summary["workers"] == 2
    assert summary["migrated"] == 4
    assert summary["failed"] == []
    expected_ddl = schema_ddl(reference.schema_name)
    for clinic in behind:
        after = own(lambda clinic=clinic: fresh(clinic))
        assert after.status == Clinic.Status.ACTIVE
        assert after.schema_fingerprint == current_fingerprint()
        assert schema_ddl(clinic.schema_name) == expected_ddl
        assert own(lambda clinic=clinic: content_types(clinic) == content_types(reference))


def content_types(clinic: Clinic) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app_label, model FROM "{clinic.schema_name}".django_content_type')
        return set(cursor.fetchall())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def event(kind: str) -> FleetEvent:
    return FleetEvent(kind, ClinicToMigrate(1, "c_x", "x-clinic", Clinic.Status.ACTIVE))


def test_the_progress_bar_redraws_one_line_on_a_terminal() -> None:
    stream = Terminal()
    progress = Progress(stream, total=3)
    for kind in ("start", "done", "start", "failed"):
        progress(event(kind))
    assert stream.getvalue().count("\r") == 2  # starts draw nothing; one redraw per result
    assert "\n" not in stream.getvalue()
    assert stream.getvalue().endswith("2/3 (1 migrated, 1 failed) ETA 0:00")
    progress(event("done"))
    assert stream.getvalue().endswith("3/3 (2 migrated, 1 failed) took 0:00\n")


def test_without_a_terminal_progress_is_plain_lines() -> None:
    stream = io.StringIO()
    progress = Progress(stream, total=2)
    progress(event("done"))
    progress(event("done"))
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("[###############...............] 1/2 (1 migrated, 0 failed)")
    assert lines[-1].endswith("2/2 (2 migrated, 0 failed) took 0:00")
