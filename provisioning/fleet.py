"""Fleet migrations: bring every clinic schema to the code's migration graph.

`manage.py migrate_clinics` calls `fleet_migrate`. Deploys run `migrate_schemas --shared`
(the `public` schema) and then this. Why not django-tenants' `migrate_schemas --tenant`:
per schema it rebuilds Django's migration loader and graph, lists every table visible to
the connection to see whether `django_migrations` exists (a catalog-wide query, so the
cost per clinic grows with the fleet: 0.18 s at 115 clinics, 0.49 s at 760) and renders
the whole project state twice. Here:

- Work is found in one query: clinics whose `schema_fingerprint` is not the current
  graph's (provisioning/template.py), or which are in `maintenance` (a run that was killed
  or failed). Clinics being provisioned are never touched; they are made from the template,
  which is brought up to date first, so new clinics are born at the new state.
- Each worker process builds the loader and graph once, reads a schema's applied
  migrations with one schema-qualified query (no catalog walk), runs Django's
  MigrationExecutor for exactly the missing migrations with a project state rendered once
  per distinct starting point and cloned per schema, and sends `post_migrate` only for the
  apps in the plan (content types for new models, as a template-made schema has them).
- A clinic is never `active` on a schema that is behind: an active clinic whose plan
  touches a tenant app is put in `maintenance` (routing answers 503) and committed, the
  routing caches of every web worker are given CLINIC_ROUTING_CHECK_INTERVAL to notice,
  then the schema is migrated, and the new fingerprint and `active` are written in the
  same transaction as the migration itself. A plan made only of shared apps' migrations is
  recorded as no-ops in a clinic schema (the router refuses their operations there) plus
  content types, which running code does not depend on, so it does not close the clinic.
  Suspended clinics stay suspended; only their fingerprint moves.
- Failures are per clinic: the clinic's own transaction rolls back, it stays in
  `maintenance` with `status_reason` saying why, the others carry on, and the next run
  picks up exactly the clinics that are still behind.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import queue
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django.db.models import Q
from django.db.models.signals import post_migrate
from django.utils import timezone
from django_tenants.utils import schema_context

from provisioning.template import current_fingerprint, schema_template_current
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic, validate_schema_name
from shared_apps.operators.services import operator_event_record

MAINTENANCE_REASON = "Upgrading the clinic's database."
FAILED_REASON_PREFIX = "Upgrade failed: "
# Clinics closed together before one wait for the routing caches to notice (see module
# docstring): large enough that the wait is a small share of the work, small enough that
# a clinic is closed for seconds, not minutes.
BATCH_SIZE = 25
MAX_WORKERS = 32
ERROR_MAX_CHARS = 200


@dataclass(frozen=True)
class ClinicToMigrate:
    pk: int
    schema_name: str
    subdomain: str
    status: str


@dataclass(frozen=True)
class FleetEvent:
    """What a worker reports about one clinic: `start`, `done` or `failed`."""

    kind: str
    clinic: ClinicToMigrate
    applied: int = 0  # migrations applied (done)
    error: str = ""  # one line (failed)


EventListener = Callable[[FleetEvent], None]


@dataclass
class FleetResult:
    fingerprint: str
    workers: int
    behind: list[ClinicToMigrate]
    migrated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (subdomain, error)
    seconds: float = 0.0
    dry_run: bool = False
    pending: dict[str, list[str]] = field(default_factory=dict)  # dry run: subdomain -> plan

    @property
    def not_reached(self) -> list[str]:
        """Clinics no worker reported on (a worker died); still behind, so a re-run has them."""
        if self.dry_run:
            return []
        reported = set(self.migrated) | {subdomain for subdomain, _ in self.failed}
        return [c.subdomain for c in self.behind if c.subdomain not in reported]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_reached

    def as_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "dry_run": self.dry_run,
            "workers": self.workers,
            "behind": len(self.behind),
            "migrated": len(self.migrated),
            "failed": [{"subdomain": s, "error": e} for s, e in self.failed],
            "not_reached": self.not_reached,
            "seconds": round(self.seconds, 3),
            **({"pending": self.pending} if self.dry_run else {}),
        }


# --- finding work ------------------------------------------------------------------------


def clinics_behind(fingerprint: str) -> list[ClinicToMigrate]:
    """Every clinic whose schema is not at `fingerprint`, in one query.

    `maintenance` counts as behind whatever its fingerprint says: it is what a killed or
    failed run leaves, and only a successful migration opens the clinic again.
    """
    rows = (
        Clinic.objects.exclude(status=Clinic.Status.PROVISIONING)
        .exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .filter(~Q(schema_fingerprint=fingerprint) | Q(status=Clinic.Status.MAINTENANCE))
        .order_by("pk")
        .values_list("pk", "schema_name", "subdomain", "status")
    )
    return [ClinicToMigrate(*row) for row in rows]


# --- migrating one schema ----------------------------------------------------------------


class _SharedLoaderExecutor(MigrationExecutor):
    """Django's executor on a loader and recorder we built, instead of fresh ones."""

    def __init__(self, loader: MigrationLoader, recorder: MigrationRecorder) -> None:
        self.connection = recorder.connection
        self.loader = loader
        self.recorder = recorder
        self.progress_callback = None


class SchemaMigrator:
    """Migrates clinic schemas one at a time; build one per process and reuse it."""

    def __init__(self) -> None:
        # No connection: the graph comes from the code alone, as the fingerprint's does.
        self.loader = MigrationLoader(None, ignore_no_migrations=True)
        if self.loader.replacements:
            # A squashed migration's place in the graph depends on what a database has
            # applied, so one graph cannot serve every schema. None exist today.
            raise NotImplementedError("migrate_clinics does not handle squashed migrations")
        graph = self.loader.graph
        self.targets = sorted(graph.leaf_nodes())
        self.order: list[tuple[str, str]] = []
        for target in self.targets:
            for node in graph.forwards_plan(target):
                if node not in self.order:
                    self.order.append(node)
        self.tenant_labels = {
            config.label
            for config in global_apps.get_app_configs()
            if config.name in settings.TENANT_APPS
        }
        self._states: dict[frozenset[tuple[str, str]], ProjectState] = {}
        self._renames_injected: set[tuple[str, str]] = set()

    def applied(self, schema_name: str) -> set[tuple[str, str]]:
        """The schema's `django_migrations`, read by qualified name (no catalog walk)."""
        validate_schema_name(schema_name)  # spliced into SQL: registry names only
        table = f"{connection.ops.quote_name(schema_name)}.django_migrations"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT app, name FROM {table}")  # noqa: S608
            return {(app, name) for app, name in cursor.fetchall()}

    def plan_for(self, applied: set[tuple[str, str]]) -> list[Migration]:
        return [self.loader.graph.nodes[node] for node in self.order if node not in applied]

    def needs_closing(self, plan: list[Migration]) -> bool:
        """Whether the plan changes anything running code reads (see module docstring)."""
        return any(migration.app_label in self.tenant_labels for migration in plan)

    def migrate(self, schema_name: str, applied: set[tuple[str, str]]) -> list[Migration]:
        """Apply what the schema lacks; the caller decides the transaction."""
        plan = self.plan_for(applied)
        if not plan:
            return plan
        tenant_connection: Any = connection  # django-tenants' backend adds the schema calls
        tenant_connection.set_schema(schema_name)
        try:
            self._inject_content_type_renames(plan)
            recorder: Any = MigrationRecorder(connection)
            recorder._has_table = True  # we just read it; Django would list every table
            loader: Any = self.loader
            loader.applied_migrations = dict.fromkeys(applied)
            executor = _SharedLoaderExecutor(self.loader, recorder)
            executor.migrate(
                self.targets,
                plan=[(migration, False) for migration in plan],
                state=self._state_at(executor, applied),
            )
            self._send_post_migrate(plan)
        finally:
            tenant_connection.set_schema_to_public()
        return plan

    def all_atomic(self, plan: list[Migration]) -> bool:
        return all(migration.atomic for migration in plan)

    def _state_at(self, executor: Any, applied: set[tuple[str, str]]) -> ProjectState:
        # Rendering every model is the expensive part of a migration run; schemas that
        # start from the same point (nearly all of them) share one rendering, cloned.
        key = frozenset(node for node in applied if node in self.loader.graph.nodes)
        state = self._states.get(key)
        if state is None:
            state = executor._create_project_state(with_applied_migrations=True)
            state.apps  # noqa: B018 -- render now, once
            self._states[key] = state
        return state.clone()

    def _inject_content_type_renames(self, plan: list[Migration]) -> None:
        """What contenttypes' pre_migrate does (RenameModel renames the content type too).

        It edits the migration objects, which this process keeps: once per migration.
        """
        from django.contrib.contenttypes.management import inject_rename_contenttypes_operations

        fresh = [m for m in plan if (m.app_label, m.name) not in self._renames_injected]
        if fresh:
            inject_rename_contenttypes_operations(
                plan=[(m, False) for m in fresh], apps=global_apps, using=connection.alias
            )
            self._renames_injected.update((m.app_label, m.name) for m in fresh)

    def _send_post_migrate(self, plan: list[Migration]) -> None:
        # Only the apps that changed: their new models need content types in this schema.
        labels = {migration.app_label for migration in plan}
        for config in global_apps.get_app_configs():
            if config.label in labels and config.models_module is not None:
                post_migrate.send(
                    sender=config,
                    app_config=config,
                    verbosity=0,
                    interactive=False,
                    using=connection.alias,
                    apps=global_apps,
                    plan=[(migration, False) for migration in plan],
                )


# --- one batch of clinics ----------------------------------------------------------------


class ClinicStatusChanged(Exception):
    """The clinic was reopened while the run was on it; the next run will handle it."""


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".strip().rstrip(":")
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


@dataclass
class _ClosedBatch:
    """A batch whose plans are read and whose active clinics are closed (at `closed_at`)."""

    plans: list[tuple[ClinicToMigrate, set[tuple[str, str]], list[Migration]]]
    closed_at: float | None


def migrate_batches(
    migrator: SchemaMigrator,
    batches: Iterable[list[ClinicToMigrate]],
    fingerprint: str,
    emit: EventListener,
) -> None:
    """Close a batch, wait for routing to notice, migrate and reopen each clinic in it.

    Pipelined: the next batch is closed before this one is migrated, so its wait for the
    web workers' routing maps passes while this batch works instead of on its own.
    """
    pending = iter(batches)
    current = _close_batch(migrator, next(pending, None), emit)
    while current is not None:
        following = _close_batch(migrator, next(pending, None), emit)
        if current.closed_at is not None:
            # Every web worker re-reads the registry within this interval (routing.py).
            remaining = current.closed_at + settings.CLINIC_ROUTING_CHECK_INTERVAL
            time.sleep(max(0.0, remaining - time.monotonic()))
        for clinic, applied, plan in current.plans:
            _migrate_one(migrator, clinic, applied, plan, fingerprint, emit)
        current = following


def _close_batch(
    migrator: SchemaMigrator, batch: list[ClinicToMigrate] | None, emit: EventListener
) -> _ClosedBatch | None:
    if batch is None:
        return None
    plans = []
    for clinic in batch:
        try:
            with transaction.atomic():  # a savepoint when the caller holds a transaction
                applied = migrator.applied(clinic.schema_name)
        except Exception as exc:  # e.g. a schema that no longer exists
            _record_failure(clinic, _one_line(exc), emit)
            continue
        plans.append((clinic, applied, migrator.plan_for(applied)))
    closing = [clinic.pk for clinic, _, plan in plans if migrator.needs_closing(plan)]
    closed = bool(closing) and _close_for_maintenance(closing)
    return _ClosedBatch(plans=plans, closed_at=time.monotonic() if closed else None)


def _close_for_maintenance(pks: list[int]) -> bool:
    """Active clinics among `pks` go to `maintenance`, committed. True if any did."""
    closed = False
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        now = timezone.now()
        for clinic in Clinic.objects.select_for_update().filter(
            pk__in=pks, status=Clinic.Status.ACTIVE
        ):
            clinic.status = Clinic.Status.MAINTENANCE
            clinic.status_reason = MAINTENANCE_REASON
            clinic.status_changed_at = now
            # save(), not update(): its signal tells every worker's routing map (routing.py).
            clinic.save(update_fields=["status", "status_reason", "status_changed_at"])
            closed = True
    return closed


def _migrate_one(
    migrator: SchemaMigrator,
    clinic: ClinicToMigrate,
    applied: set[tuple[str, str]],
    plan: list[Migration],
    fingerprint: str,
    emit: EventListener,
) -> None:
    emit(FleetEvent("start", clinic))
    try:
        if migrator.all_atomic(plan):
            # Schema, fingerprint and status commit together: all of it or none of it.
            with transaction.atomic():
                _lock_and_check(clinic.pk, needs_closing=migrator.needs_closing(plan))
                migrator.migrate(clinic.schema_name, applied)
                _reopen(clinic.pk, fingerprint)
        else:
            # A non-atomic migration (CREATE INDEX CONCURRENTLY) cannot run in a
            # transaction: migrations commit one by one, the registry after them.
            with transaction.atomic():
                _lock_and_check(clinic.pk, needs_closing=migrator.needs_closing(plan))
            migrator.migrate(clinic.schema_name, applied)
            with transaction.atomic():
                _reopen(clinic.pk, fingerprint)
    except Exception as exc:
        _record_failure(clinic, _one_line(exc), emit)
        return
    emit(FleetEvent("done", clinic, applied=len(plan)))


def _lock_and_check(pk: int, *, needs_closing: bool) -> None:
    # The row lock keeps the clinic's status where it is until this transaction ends
    # (clinic_resume and clinic_suspend lock it too).
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        status = Clinic.objects.select_for_update().values_list("status", flat=True).get(pk=pk)
    if needs_closing and status == Clinic.Status.ACTIVE:
        raise ClinicStatusChanged("the clinic was reopened during the run; run it again")


def _reopen(pk: int, fingerprint: str) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        clinic = Clinic.objects.select_for_update().get(pk=pk)
        clinic.schema_fingerprint = fingerprint
        fields = ["schema_fingerprint"]
        if clinic.status == Clinic.Status.MAINTENANCE:
            clinic.status = Clinic.Status.ACTIVE
            clinic.status_reason = ""
            clinic.status_changed_at = timezone.now()
            fields += ["status", "status_reason", "status_changed_at"]
        clinic.save(update_fields=fields)


def _record_failure(clinic: ClinicToMigrate, error: str, emit: EventListener) -> None:
    try:
        with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
            row = Clinic.objects.select_for_update().get(pk=clinic.pk)
            if row.status == Clinic.Status.MAINTENANCE:
                # Stays closed: its schema is behind the code. A suspended clinic keeps
                # the reason it was suspended for; its stale fingerprint says the rest.
                row.status_reason = (FAILED_REASON_PREFIX + error)[:500]
                row.save(update_fields=["status_reason"])
            operator_event_record(
                actor=None,
                action="clinic.migrate_failed",
                clinic=row,
                details={"error": error.split(":", 1)[0]},
            )
    except Exception as exc:  # the database itself is gone; the summary still says so
        error = f"{error} (and recording it failed: {_one_line(exc)})"
    emit(FleetEvent("failed", clinic, error=error))


# --- the run -----------------------------------------------------------------------------


def fleet_migrate(
    *,
    actor: User | None,
    workers: int,
    dry_run: bool = False,
    on_event: EventListener | None = None,
    on_found: Callable[[int], None] | None = None,
) -> FleetResult:
    """Migrate every clinic schema that is behind; see the module docstring.

    `workers == 1` runs in the calling process (and inside its transaction, if any); more
    fork that many processes, each migrating one schema at a time. `on_found(count)` hears
    how many clinics are behind, `on_event` each clinic's start and end.
    """
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be between 1 and {MAX_WORKERS}")
    started = time.perf_counter()
    listener = on_event or (lambda _event: None)
    if not dry_run:
        schema_template_current()  # new clinics are made at the new state from now on
    fingerprint = current_fingerprint()
    behind = clinics_behind(fingerprint)
    if on_found is not None:
        on_found(len(behind))
    result = FleetResult(fingerprint=fingerprint, workers=workers, behind=behind, dry_run=dry_run)
    if dry_run:
        result.pending = _pending(behind)
        result.seconds = time.perf_counter() - started
        return result

    def record(event: FleetEvent) -> None:
        if event.kind == "done":
            result.migrated.append(event.clinic.subdomain)
        elif event.kind == "failed":
            result.failed.append((event.clinic.subdomain, event.error))
        listener(event)

    batches = list(_batches(behind, workers))
    if workers == 1 or len(batches) <= 1:
        migrate_batches(SchemaMigrator(), batches, fingerprint, record)
    else:
        _run_in_processes(batches, workers, fingerprint, record)
    result.seconds = time.perf_counter() - started
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        operator_event_record(
            actor=actor,
            action="fleet.migrate",
            details={
                "fingerprint": fingerprint[:12],
                "behind": len(behind),
                "migrated": len(result.migrated),
                "failed": len(result.failed),
                "not_reached": len(result.not_reached),
                "workers": workers,
                "seconds": round(result.seconds, 1),
            },
        )
    return result


def _pending(behind: list[ClinicToMigrate]) -> dict[str, list[str]]:
    """Dry run: the migrations each clinic lacks (read-only)."""
    migrator = SchemaMigrator()
    pending = {}
    for clinic in behind:
        try:
            with transaction.atomic():
                plan = migrator.plan_for(migrator.applied(clinic.schema_name))
            pending[clinic.subdomain] = [f"{m.app_label}.{m.name}" for m in plan]
        except Exception as exc:
            pending[clinic.subdomain] = [f"(cannot read: {_one_line(exc)})"]
    return pending


def _batches(behind: list[ClinicToMigrate], workers: int) -> Iterator[list[ClinicToMigrate]]:
    # Large fleets go in BATCH_SIZE pieces; small ones in at least two per worker, since a
    # worker holds the batch after its current one (migrate_batches' pipeline).
    size = max(1, min(BATCH_SIZE, math.ceil(len(behind) / (2 * workers))))
    for start in range(0, len(behind), size):
        yield behind[start : start + size]


def _run_in_processes(
    batches: list[list[ClinicToMigrate]],
    workers: int,
    fingerprint: str,
    record: EventListener,
) -> None:
    context = multiprocessing.get_context("fork")
    tasks: Any = context.Queue()
    events: Any = context.Queue()
    # A forked child must not share its parent's socket to PostgreSQL.
    connections.close_all()
    processes = [
        context.Process(target=_worker_main, args=(tasks, events, fingerprint), daemon=True)
        for _ in range(min(workers, len(batches)))
    ]
    for process in processes:
        process.start()
    for batch in batches:
        tasks.put(batch)
    for _ in processes:
        tasks.put(None)
    expected = sum(len(batch) for batch in batches)
    reported = 0
    try:
        while reported < expected:
            try:
                event: FleetEvent = events.get(timeout=0.5)
            except queue.Empty:
                if any(process.is_alive() for process in processes):
                    continue
                # Every worker is gone: take what they sent before dying, then stop.
                with contextlib.suppress(queue.Empty):
                    while True:
                        event = events.get(timeout=0.2)
                        reported += event.kind != "start"
                        record(event)
                break
            reported += event.kind != "start"
            record(event)
    except BaseException:
        # Ctrl-C or a bug here: stop the workers now. PostgreSQL rolls back the migration
        # each was in; those clinics stay in maintenance, behind, for the next run.
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


def _worker_main(tasks: Any, events: Any, fingerprint: str) -> None:
    # Ctrl-C reaches the whole process group; the parent decides (see _run_in_processes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        migrate_batches(SchemaMigrator(), iter(tasks.get, None), fingerprint, events.put)
    finally:
        connections.close_all()
