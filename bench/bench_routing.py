"""Host -> clinic routing on a warm worker, against django-tenants' stock lookup.

Stock django-tenants runs `Domain.objects.select_related("tenant").get(domain=host)` on
every request. Ours answers from an in-process map (and asks Redis whether the registry
changed at most once a second). Budgets:
- warm routing is at least 20x faster than the stock lookup, measured in the same run;
- warm routing does not grow with the fleet: the same 10 hosts routed with 1,000 clinics
  in the registry cost at most 1.5x what they cost with 10.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

from shared_apps.clinics.models import Clinic, Domain, generate_schema_name
from shared_apps.clinics.routing import forget_cached_routes, resolve_host

ROUNDS = 7
CALLS_PER_ROUND = 2_000
SPEEDUP_BUDGET = 20.0
GROWTH_BUDGET = 1.5


def _add_clinics(count: int, start: int) -> list[str]:
    """Registry rows with empty schemas: routing reads the registry, never clinic tables."""
    hosts = []
    with transaction.atomic():
        for n in range(start, start + count):
            clinic = Clinic.objects.create(
                name=f"Bench {n}",
                subdomain=f"bench-{n}",
                schema_name=generate_schema_name(),
                clinic_type="dental",
                status=Clinic.Status.ACTIVE,
            )
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{clinic.schema_name}"')
            host = f"bench-{n}.{settings.BASE_DOMAIN}"
            Domain.objects.create(domain=host, tenant=clinic, is_primary=True)
            hosts.append(host)
    return hosts


def _median_per_call(fn: Callable[[str], object], hosts: list[str]) -> float:
    timings = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for i in range(CALLS_PER_ROUND):
            fn(hosts[i % len(hosts)])
        timings.append((time.perf_counter() - started) / CALLS_PER_ROUND)
    return statistics.median(timings)


def _stock_lookup(host: str) -> object:
    return Domain.objects.select_related("tenant").get(domain=host).tenant


def _warm(hosts: list[str], *, measured: list[str]) -> float:
    forget_cached_routes()
    for host in hosts:  # fill the map, as a worker does over its first requests
        resolve_host(host)
    return _median_per_call(resolve_host, measured)


def run() -> tuple[str, bool]:
    few = _add_clinics(10, start=0)
    warm_10 = _warm(few, measured=few)
    stock_10 = _median_per_call(_stock_lookup, few)
    many = few + _add_clinics(990, start=10)
    warm_1000 = _warm(many, measured=few)
    stock_1000 = _median_per_call(_stock_lookup, few)

    speedup = stock_1000 / warm_1000
    growth = warm_1000 / warm_10
    ok = speedup >= SPEEDUP_BUDGET and growth <= GROWTH_BUDGET
    print("\nRouting a request's host to its clinic (median per request)")
    print(f"{'':28}{'10 clinics':>14}{'1,000 clinics':>16}")
    print(f"{'stock django-tenants query':28}{stock_10 * 1e6:>12.1f}us{stock_1000 * 1e6:>14.1f}us")
    print(f"{'DR. CRM warm map':28}{warm_10 * 1e6:>12.1f}us{warm_1000 * 1e6:>14.1f}us")
    print(f"speed-up at 1,000 clinics: {speedup:.1f}x (budget >= {SPEEDUP_BUDGET}x)")
    print(f"growth 10 -> 1,000 clinics: {growth:.2f}x (budget <= {GROWTH_BUDGET}x)")
    return "routing", ok
