"""Creating a clinic end to end, against both baselines, as the fleet grows to 1,000.

- "DDL replay": the floor. Only the tenant schema's SQL replayed under a new name, in one
  transaction: no registry row, no domain, no owner, no audit.
- "migrate on create": django-tenants' default. A registry row whose schema is made by
  running every migration (`create_schema(sync_schema=True)`, what `Tenant.save()` does).
- "DR. CRM": `provisioning.services.clinic_create`, everything a real signup does in the
  database (validation, registry row, schema from the template, domain, owner membership,
  audit rows, operator event, activation).

Budgets, measured in the same run: at 1,000 clinics, DR. CRM costs at most 2x the DDL
replay and at least 5x less than migrate-on-create; its median for clinics 981-1,000 is at
most 1.3x its median for clinics 6-25 (flat; the slack absorbs timer noise).
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from collections.abc import Callable

from django.db import connection, transaction

from provisioning.services import clinic_create
from provisioning.template import schema_create_from_template, schema_template_current
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic, generate_schema_name

FLEET = 1_000
MEASURED = 20
MIGRATE_SAMPLES = 3
REPLAY_BUDGET = 2.0
MIGRATE_SPEEDUP_BUDGET = 5.0
GROWTH_BUDGET = 1.3


class Fleet:
    def __init__(self) -> None:
        self.owner = User.objects.create_user("bench-owner@example.com", "bench-pass-1234")
        self.created = 0

    def clinic_create(self) -> float:
        """Create the next clinic through the real service; returns the seconds it took."""
        self.created += 1
        started = time.perf_counter()
        clinic_create(
            actor=None,
            name=f"Bench Clinic {self.created}",
            subdomain=f"bench-clinic-{self.created}",
            clinic_type="dental",
            owner=self.owner,
            time_zone="Europe/London",
            currency="GBP",
            country="GB",
        )
        return time.perf_counter() - started

    def grow_to(self, size: int) -> None:
        while self.created < size:
            self.clinic_create()
            if self.created % 50 == 0:
                _progress(f"  fleet at {self.created} clinics")


def _ddl_replay() -> float:
    template = schema_template_current()
    started = time.perf_counter()
    with transaction.atomic():
        schema_create_from_template(generate_schema_name(), template)
    return time.perf_counter() - started


_migrated = itertools.count(1)


def _migrate_on_create() -> float:
    n = next(_migrated)
    started = time.perf_counter()
    clinic = Clinic.objects.create(
        name=f"Migrated {n}",
        subdomain=f"bench-migrated-{n}",
        schema_name=generate_schema_name(),
        clinic_type="dental",
        status=Clinic.Status.ACTIVE,
    )
    clinic.create_schema(check_if_exists=True, sync_schema=True, verbosity=0)
    connection.set_schema_to_public()
    return time.perf_counter() - started


def _median(samples: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(samples))


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run() -> tuple[str, bool]:
    fleet = Fleet()
    fleet.grow_to(5)  # warm-up: imports, the template, PostgreSQL's caches
    early = statistics.median(fleet.clinic_create() for _ in range(MEASURED))
    early_replay = _median(MEASURED, _ddl_replay)
    early_migrate = _median(MIGRATE_SAMPLES, _migrate_on_create)

    fleet.grow_to(FLEET - MEASURED)
    late = statistics.median(fleet.clinic_create() for _ in range(MEASURED))
    late_replay = _median(MEASURED, _ddl_replay)
    late_migrate = _median(MIGRATE_SAMPLES, _migrate_on_create)

    versus_replay = late / late_replay
    versus_migrate = late_migrate / late
    growth = late / early
    ok = (
        versus_replay <= REPLAY_BUDGET
        and versus_migrate >= MIGRATE_SPEEDUP_BUDGET
        and growth <= GROWTH_BUDGET
    )
    print("\nCreating a clinic (median per clinic)")
    print(f"{'':30}{'~10th clinic':>14}{'~1,000th clinic':>17}")
    for label, small, large in [
        ("DDL replay (floor)", early_replay, late_replay),
        ("DR. CRM clinic_create", early, late),
        ("django-tenants migrate", early_migrate, late_migrate),
    ]:
        print(f"{label:30}{small * 1e3:>12.1f}ms{large * 1e3:>15.1f}ms")
    print(f"DR. CRM / DDL replay: {versus_replay:.2f}x (budget <= {REPLAY_BUDGET}x)")
    print(f"migrate / DR. CRM: {versus_migrate:.1f}x (budget >= {MIGRATE_SPEEDUP_BUDGET}x)")
    print(f"growth 10th -> 1,000th clinic: {growth:.2f}x (budget <= {GROWTH_BUDGET}x)")
    return "clinic creation", ok
