"""Fleet migrations: `migrate_clinics` against django-tenants' stock `migrate_schemas`.

500 clinics made through `clinic_create`, then, in the same run:
(a) nothing to apply: ours finds no work in one query; stock visits every schema
    (standard executor). Budget: ours < 5% of stock.
(b) the code gains a migration (bench/fleet_app: v1 -> v2 adds a column) and ours applies
    it to all 500 with FLEET_MIGRATION_WORKERS=2, template rebuild included; then the code
    gains an equivalent one (v2 -> v3, another column) and stock applies that. Budget: ours
    at least 1.8x faster.
Everything made here is dropped at the end, so later benchmarks see an empty registry.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from provisioning.services import clinic_create
from provisioning.template import TEMPLATE_SCHEMA, current_fingerprint, migration_graph
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic

CLINICS = 500
WORKERS = 2
NOTHING_BUDGET = 0.05  # ours / stock
APPLY_BUDGET = 1.8  # stock / ours
SUBDOMAIN_PREFIX = "fleet-bench-"


def _use_migrations(version: str) -> None:
    """Switch bench_fleet's migration package: the code now has a different graph."""
    settings.MIGRATION_MODULES = {"bench_fleet": f"bench.fleet_app.migrations_{version}"}
    migration_graph.cache_clear()


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _ours() -> None:
    call_command(
        "migrate_clinics", workers=WORKERS, json=True, stdout=io.StringIO(), stderr=io.StringIO()
    )


def _stock() -> None:
    call_command(
        "migrate_schemas", tenant=True, executor="standard", interactive=False, verbosity=0
    )


def _schemas_with_column(column: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'bench_fleet_fleetnote' AND column_name = %s "
            "AND table_schema LIKE 'c\\_%%'",
            [column],
        )
        return int(cursor.fetchone()[0])


def _create_clinics() -> float:
    owner = User.objects.create_user("fleet-bench-owner@example.com", "bench-password-1")
    started = time.perf_counter()
    for n in range(CLINICS):
        clinic_create(
            actor=None,
            name=f"Fleet bench {n}",
            subdomain=f"{SUBDOMAIN_PREFIX}{n}",
            clinic_type="dental",
            owner=owner,
        )
    return time.perf_counter() - started


def _clean_up() -> None:
    clinics = Clinic.objects.filter(subdomain__startswith=SUBDOMAIN_PREFIX)
    with connection.cursor() as cursor:
        for schema_name in clinics.values_list("schema_name", flat=True):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
        cursor.execute(f"DROP SCHEMA IF EXISTS {TEMPLATE_SCHEMA} CASCADE")
    clinics.delete()
    User.objects.filter(email="fleet-bench-owner@example.com").delete()
    _use_migrations("v1")


def run() -> tuple[str, bool]:
    _use_migrations("v1")
    try:
        created = _create_clinics()
        print(f"\n(made {CLINICS} clinics through clinic_create in {created:.1f}s)")

        nothing_ours = _timed(_ours)
        nothing_stock = _timed(_stock)

        _use_migrations("v2")
        apply_ours = _timed(_ours)
        migrated_ours = _schemas_with_column("extra_a")
        current = Clinic.objects.filter(
            subdomain__startswith=SUBDOMAIN_PREFIX,
            schema_fingerprint=current_fingerprint(),
            status=Clinic.Status.ACTIVE,
        ).count()

        _use_migrations("v3")
        apply_stock = _timed(_stock)
        migrated_stock = _schemas_with_column("extra_b")
    finally:
        _clean_up()

    share = nothing_ours / nothing_stock
    speedup = apply_stock / apply_ours
    complete = migrated_ours == migrated_stock == current == CLINICS
    ok = share < NOTHING_BUDGET and speedup >= APPLY_BUDGET and complete
    print(f"Migrating {CLINICS} clinic schemas (whole command, wall clock)")
    print(f"{'':40}{'nothing to apply':>18}{'one migration':>16}")
    print(f"{'stock migrate_schemas (standard)':40}{nothing_stock:>17.2f}s{apply_stock:>15.2f}s")
    ours = f"DR. CRM migrate_clinics ({WORKERS} workers)"
    print(f"{ours:40}{nothing_ours:>17.2f}s{apply_ours:>15.2f}s")
    print(f"nothing to apply: ours is {share:.1%} of stock (budget < {NOTHING_BUDGET:.0%})")
    print(f"one migration: ours is {speedup:.1f}x faster (budget >= {APPLY_BUDGET}x)")
    print(
        f"schemas migrated: ours {migrated_ours}, stock {migrated_stock}, "
        f"active at the new fingerprint {current} (expected {CLINICS} each)"
    )
    return "fleet migrations", ok
