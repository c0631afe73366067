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
        bench_calendar_week,
        bench_fleet_migrations,
        bench_patient_search,
        bench_provisioning,
        bench_routing,
    )

    benchmarks = (
        bench_routing,
        bench_provisioning,
        bench_fleet_migrations,
        bench_patient_search,
        bench_calendar_week,
    )
    # `--only patient_search` (a module name without "bench_"; repeatable) runs just those.
    only = {arg for flag, arg in zip(sys.argv[1:], sys.argv[2:], strict=False) if flag == "--only"}
    names = {module.__name__.removeprefix("bench.bench_"): module for module in benchmarks}
    unknown = sorted(only - names.keys())
    if unknown:
        print(f"Unknown benchmark: {', '.join(unknown)}; choose from {', '.join(names)}")
        return 2
    results = []
    # A fresh database each: stock migrate_schemas visits every registered clinic, and the
    # creation benchmark measures a fleet growing from nothing, so no benchmark may meet
    # another one's clinics.
    for benchmark in (names[name] for name in names if not only or name in only):
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
