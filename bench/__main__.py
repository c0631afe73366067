"""`make bench`: run every benchmark, each against a throw-away test database of its own."""

from __future__ import annotations

import os
import sys

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drcrm.settings")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"drcrm-bench-{os.getpid()}")
    # Adds bench/fleet_app, the tenant app whose migrations bench_fleet_migrations switches.
    os.environ.setdefault("DRCRM_BENCH", "1")
    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    from bench import (
        bench_fleet_migrations,
        bench_patient_search,
        bench_provisioning,
        bench_routing,
    )

    results = []
    # A fresh database each: stock migrate_schemas visits every registered clinic, and the
    # creation benchmark measures a fleet growing from nothing, so no benchmark may meet
    # another one's clinics.
    for benchmark in (
        bench_routing,
        bench_provisioning,
        bench_fleet_migrations,
        bench_patient_search,
    ):
        databases = setup_databases(verbosity=0, interactive=False)
        try:
            results.append(benchmark.run())
        finally:
            teardown_databases(databases, verbosity=0)
    failed = [name for name, ok in results if not ok]
    if failed:
        print(f"\nOver budget: {', '.join(failed)}")
        return 1
    print("\nAll benchmarks within budget.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
