"""`make bench`: run every benchmark against a throw-away test database."""

from __future__ import annotations

import os
import sys

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drcrm.settings")
    os.environ.setdefault("CACHE_KEY_PREFIX", f"drcrm-bench-{os.getpid()}")
    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    from bench import bench_routing

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        results = [bench_routing.run()]
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
