"""`manage.py migrate_clinics`: bring every clinic schema to the current migrations.

Deploys run `manage.py migrate_schemas --shared` (the `public` schema) and then this.
Exit code 0 when every clinic that was behind is migrated; 1 otherwise, after a summary
naming each clinic that failed (they stay closed for maintenance; re-running continues
with exactly those). See provisioning/fleet.py for how it works.
"""

from __future__ import annotations

import json
import time
from typing import Any, TextIO, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from drcrm import request_context
from provisioning.fleet import MAX_WORKERS, FleetEvent, FleetResult, fleet_migrate

BAR_WIDTH = 30
LINE_INTERVAL_SECONDS = 5.0  # progress lines when stderr is not a terminal


class Progress:
    """A one-line bar with counts and ETA on a terminal; a line every few seconds elsewhere."""

    def __init__(self, stream: TextIO, *, total: int) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self.last_line = 0.0
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, event: FleetEvent) -> None:
        if event.kind == "done":
            self.done += 1
        elif event.kind == "failed":
            self.failed += 1
        else:
            return
        finished = self.done + self.failed == self.total
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line())
            if finished:
                self.stream.write("\n")
            self.stream.flush()
        elif finished or now - self.last_line >= LINE_INTERVAL_SECONDS:
            self.last_line = now
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        settled = self.done + self.failed
        share = settled / self.total if self.total else 1.0
        filled = round(BAR_WIDTH * share)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self.started
        if settled == self.total:
            eta = f"took {_clock(elapsed)}"
        elif settled:
            eta = f"ETA {_clock(elapsed / settled * (self.total - settled))}"
        else:
            eta = "ETA --:--"
        return f"[{bar}] {settled}/{self.total} ({self.done} migrated, {self.failed} failed) {eta}"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


class Command(BaseCommand):
    help = (
        "Migrate every clinic schema that is behind the code's migrations, in parallel; "
        "clinics being upgraded are closed (503) until their schema is current."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"parallel worker processes (default FLEET_MIGRATION_WORKERS, 1-{MAX_WORKERS})",
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument(
            "--dry-run", action="store_true", help="list the clinics that would be migrated"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"] or settings.FLEET_MIGRATION_WORKERS
        if options["workers"] is not None and not 1 <= options["workers"] <= MAX_WORKERS:
            raise CommandError(f"--workers must be a whole number from 1 to {MAX_WORKERS}.")
        if not 1 <= workers <= MAX_WORKERS:
            raise CommandError(
                f"FLEET_MIGRATION_WORKERS must be a whole number from 1 to {MAX_WORKERS}."
            )
        progress: list[Progress] = []
        stream = cast(TextIO, self.stderr._out)  # the bar writes "\r" and no line ends
        token = request_context.activate(
            request_context.RequestContext(source="command:migrate_clinics")
        )
        try:
            result = fleet_migrate(
                actor=None,
                workers=workers,
                dry_run=options["dry_run"],
                on_found=lambda total: progress.append(Progress(stream, total=total)),
                on_event=lambda event: progress[0](event),
            )
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted. Clinics that were being migrated stay closed for maintenance; "
                "run migrate_clinics again to finish them."
            ) from None
        finally:
            request_context.deactivate(token)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self._summary(result)
        if not result.ok:
            raise CommandError(
                f"{len(result.failed) + len(result.not_reached)} clinic(s) not migrated; "
                "they stay closed for maintenance. Fix the cause and run migrate_clinics again."
            )

    def _summary(self, result: FleetResult) -> None:
        if result.dry_run:
            if not result.behind:
                self.stdout.write("Every clinic schema is current; nothing would be migrated.")
                return
            self.stdout.write(f"{len(result.behind)} clinic(s) would be migrated:")
            for clinic in result.behind:
                plan = result.pending.get(clinic.subdomain, [])
                self.stdout.write(f"  {clinic.subdomain} ({clinic.status}): {', '.join(plan)}")
            return
        if not result.behind:
            self.stdout.write("Every clinic schema is current.")
            return
        self.stdout.write(
            f"Migrated {len(result.migrated)} of {len(result.behind)} clinic(s) in "
            f"{result.seconds:.1f}s with {result.workers} worker(s)."
        )
        for subdomain, error in result.failed:
            self.stderr.write(f"  FAILED {subdomain}: {error}")
        for subdomain in result.not_reached:
            self.stderr.write(f"  NOT REACHED {subdomain} (a worker stopped)")
