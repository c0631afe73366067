#!/usr/bin/env python
"""Django's command-line utility. The project package `drcrm` (in platform/drcrm) is on the
import path through the project's install (`pip install -e .`, done by `make`)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drcrm.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise SystemExit(
            "Django is not installed here. Run `make run` (or `make install`) first."
        ) from exc
    from django.core.exceptions import ImproperlyConfigured

    try:
        import drcrm  # noqa: F401
    except ImportError as exc:
        raise SystemExit(
            "The drcrm package is not installed. Run `make install` from the repository root."
        ) from exc
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Configuration error: {exc}") from None
    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Configuration error: {exc}") from None


if __name__ == "__main__":
    main()
