"""`manage.py clinic`: the clinic fleet from a terminal (the operator API's twin).

Every subcommand calls the same services and selectors as the operator console and the
platform API; writes are OperatorEvents with the source "command:clinic".
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.base import DjangoHelpFormatter as _DjangoHelpFormatter

from drcrm import request_context
from drcrm.validation import error_one_line
from provisioning.demo import (
    DEMO_PASSWORD,
    DemoNotAllowed,
    demo_allowed_check,
    demo_owner_ensure,
    demo_seed,
)
from provisioning.selectors import (
    MAX_PAGE_SIZE,
    ClinicNotFound,
    ClinicUsage,
    clinic_for_operator,
    clinic_usage_get,
    clinics_with_usage,
)
from provisioning.services import (
    ProvisioningStep,
    clinic_create,
    clinic_host,
    clinic_resume,
    clinic_suspend,
)
from provisioning.template import current_fingerprint
from shared_apps.clinics.models import Clinic, Domain
from shared_apps.operators.serializers import ClinicSerializer

SOURCE = "command:clinic"
# The services' field names as this command's options, so an error names what to fix.
OPTION_OF_FIELD = {
    "clinic_type": "type",
    "owner_email": "owner-email",
    "time_zone": "time-zone",
    "__all__": "error",
}

HELP = """Create, list, suspend, resume and inspect clinics; fill one with demo data.

  clinic create --name N --subdomain S --type medical|dental --owner-email E
                [--country GB --time-zone Europe/London --currency GBP --plan trial] [--demo]
  clinic list [--search TEXT] [--status active|suspended|provisioning|maintenance]
  clinic suspend SUBDOMAIN --reason TEXT
  clinic resume SUBDOMAIN [--reason TEXT]
  clinic info SUBDOMAIN
  clinic seed-demo SUBDOMAIN          (development only)

`create` emails the owner an invite; with --demo (development only) the owner account is
made at once and signs in with the demo password (provisioning/demo.py) instead.

Every subcommand takes --json: one JSON document on stdout, with stable keys.
  A clinic (create, suspend, resume, and each item of list):
    subdomain, name, host, status, status_reason, status_changed_at, plan, clinic_type,
    country, time_zone, currency, created_at, schema_up_to_date, owner_emails,
    usage {members, patients, storage_bytes}
  list:      {"count": N, "clinics": [clinic, ...]}
  info:      clinic + schema_name, schema_fingerprint, current_fingerprint,
             domains [{domain, is_primary}]
  seed-demo: {"subdomain", "seeded": [summary, ...],
              "logins": [{email, full_name, role, password}, ...]}
             (password is null for an account that existed before, with its own)
Errors: one line on stderr ("subdomain: This address is already taken.") and exit code 1
(2 for a malformed command line).
"""


class HelpFormatter(_DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, and the description's lines kept as written."""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create a clinic and invite its owner.")
        create.add_argument("--name", required=True)
        create.add_argument("--subdomain", required=True)
        create.add_argument("--type", required=True, dest="clinic_type", help="medical or dental")
        create.add_argument("--owner-email", required=True)
        create.add_argument("--country", default="", help="ISO code, e.g. GB")
        create.add_argument("--time-zone", default="UTC", help="e.g. Europe/London")
        create.add_argument("--currency", default="USD", help="ISO code, e.g. GBP")
        create.add_argument("--plan", default=Clinic.Plan.TRIAL, help="trial, standard, premium")
        create.add_argument(
            "--demo",
            action="store_true",
            help="Development only: make the owner's account now, with the demo password.",
        )
        listing = actions.add_parser("list", help="List clinics with their usage.")
        listing.add_argument("--search", default="", help="Name, subdomain or owner email.")
        listing.add_argument("--status", default="", help=", ".join(Clinic.Status.values))
        suspend = actions.add_parser("suspend", help="Close a clinic to everyone.")
        suspend.add_argument("subdomain")
        suspend.add_argument("--reason", required=True, help="Kept in the registry.")
        resume = actions.add_parser("resume", help="Open a suspended clinic again.")
        resume.add_argument("subdomain")
        resume.add_argument("--reason", default="")
        info = actions.add_parser("info", help="A clinic's registry row, usage and domains.")
        info.add_argument("subdomain")
        seed = actions.add_parser("seed-demo", help="Fill a clinic with demo staff (dev only).")
        seed.add_argument("subdomain")
        for sub in (create, listing, suspend, resume, info, seed):
            sub.add_argument("--json", action="store_true", help="Print JSON (keys: see help).")

    def handle(self, *args: Any, **options: Any) -> None:
        token = request_context.activate(request_context.RequestContext(source=SOURCE))
        try:
            action = options["action"].replace("-", "_")
            getattr(self, f"_{action}")(options)
        except ValidationError as error:
            raise CommandError(error_one_line(error, OPTION_OF_FIELD)) from None
        except (ClinicNotFound, DemoNotAllowed) as error:
            raise CommandError(str(error)) from None
        finally:
            request_context.deactivate(token)

    # --- subcommands ---------------------------------------------------------------------

    def _create(self, options: dict[str, Any]) -> None:
        as_json = options["json"]
        fields = {
            "name": options["name"],
            "subdomain": options["subdomain"],
            "clinic_type": options["clinic_type"],
            "country": options["country"],
            "time_zone": options["time_zone"],
            "currency": options["currency"],
            "plan": options["plan"],
        }
        owner = None
        if options["demo"]:
            # The demo owner must sign in at once, so their account exists before the clinic.
            owner = demo_owner_ensure(email=options["owner_email"])
            clinic = clinic_create(actor=None, owner=owner, on_step=self._step(as_json), **fields)
        else:
            clinic = clinic_create(
                actor=None,
                owner_email=options["owner_email"],
                on_step=self._step(as_json),
                **fields,
            )
        usage = clinic_usage_get(clinic=clinic)
        if as_json:
            self._json(_clinic_json(usage))
            return
        self.stdout.write(f"Created {clinic.name} at {clinic_host(clinic.subdomain)}")
        if owner is not None:
            self.stdout.write(f"Owner signs in as {owner.email} / {DEMO_PASSWORD}")
        else:
            self.stdout.write(f"Invite sent to {options['owner_email']}.")

    def _list(self, options: dict[str, Any]) -> None:
        status = options["status"]
        if status and status not in Clinic.Status.values:
            raise CommandError(f"status: Choose one of: {', '.join(Clinic.Status.values)}.")
        usages, total = _all_clinics(search=options["search"], status=status)
        if options["json"]:
            self._json({"count": total, "clinics": [_clinic_json(u) for u in usages]})
            return
        if not usages:
            self.stdout.write("No clinics match.")
            return
        self._table(usages)
        self.stdout.write(f"{total} clinic{'s' if total != 1 else ''}")

    def _suspend(self, options: dict[str, Any]) -> None:
        clinic = clinic_for_operator(subdomain=options["subdomain"])
        clinic = clinic_suspend(actor=None, clinic=clinic, reason=options["reason"])
        self._status_changed(clinic, options, "Suspended")

    def _resume(self, options: dict[str, Any]) -> None:
        clinic = clinic_for_operator(subdomain=options["subdomain"])
        clinic = clinic_resume(actor=None, clinic=clinic, reason=options["reason"])
        self._status_changed(clinic, options, "Resumed")

    def _info(self, options: dict[str, Any]) -> None:
        clinic = clinic_for_operator(subdomain=options["subdomain"])
        usage = clinic_usage_get(clinic=clinic)
        domains = list(Domain.objects.filter(tenant=clinic).order_by("-is_primary", "domain"))
        current = current_fingerprint()
        if options["json"]:
            self._json(
                {
                    **_clinic_json(usage),
                    "schema_name": clinic.schema_name,
                    "schema_fingerprint": clinic.schema_fingerprint,
                    "current_fingerprint": current,
                    "domains": [{"domain": d.domain, "is_primary": d.is_primary} for d in domains],
                }
            )
            return
        up_to_date = clinic.schema_fingerprint == current
        status = clinic.get_status_display()
        if clinic.status_reason:
            status += f": {clinic.status_reason}"
        lines = [
            f"{clinic.name} ({clinic.subdomain})",
            f"  status     {status}"
            + (f": {clinic.status_reason}" if clinic.status_reason else ""),
            f"  plan       {clinic.get_plan_display()}, {clinic.get_clinic_type_display()}",
            f"  locale     {clinic.country or '-'}, {clinic.time_zone}, {clinic.currency}",
            f"  created    {clinic.created_at:%Y-%m-%d %H:%M} UTC",
            "  domains    "
            + ", ".join(f"{d.domain}{' (primary)' if d.is_primary else ''}" for d in domains),
            f"  owners     {', '.join(usage.owner_emails) or '- (owner invited, not joined yet)'}",
            f"  usage      {usage.member_count} members, {usage.patient_count} patients, "
            f"{_size(usage.storage_bytes)}",
            f"  schema     {clinic.schema_name}, "
            + (
                "up to date"
                if up_to_date
                else f"BEHIND (at {clinic.schema_fingerprint[:12] or 'unknown'}, "
                f"current {current[:12]}: run `manage.py migrate_clinics`)"
            ),
        ]
        self.stdout.write("\n".join(lines))

    def _seed_demo(self, options: dict[str, Any]) -> None:
        demo_allowed_check()
        clinic = clinic_for_operator(subdomain=options["subdomain"])
        seed = demo_seed(clinic=clinic)
        logins = seed.logins()
        if options["json"]:
            self._json({"subdomain": clinic.subdomain, "seeded": seed.summaries, "logins": logins})
            return
        for summary in seed.summaries:
            self.stdout.write(f"Seeded {summary}")
        self.stdout.write(f"Demo staff (password {DEMO_PASSWORD} unless shown otherwise):")
        for login in logins:
            own = "" if login["password"] else "  (existing account: its own password)"
            self.stdout.write(f"  {login['email']:<36} {login['role']}{own}")

    # --- output --------------------------------------------------------------------------

    def _step(self, quiet: bool) -> Any:
        def announce(step: ProvisioningStep) -> None:
            if not quiet:
                self.stdout.write(f"  {step.label} ...")

        return announce

    def _status_changed(self, clinic: Clinic, options: dict[str, Any], verb: str) -> None:
        usage = clinic_usage_get(clinic=clinic)
        if options["json"]:
            self._json(_clinic_json(usage))
        else:
            self.stdout.write(f"{verb} {clinic.name} ({clinic.subdomain}).")

    def _json(self, document: Any) -> None:
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))

    def _table(self, usages: list[ClinicUsage]) -> None:
        header = ("SUBDOMAIN", "NAME", "STATUS", "PLAN", "MEMBERS", "PATIENTS", "STORAGE", "OWNER")
        rows = [header] + [
            (
                u.clinic.subdomain,
                _clip(u.clinic.name, 32),
                u.clinic.status,
                u.clinic.plan,
                str(u.member_count),
                str(u.patient_count),
                _size(u.storage_bytes),
                ", ".join(u.owner_emails) or "-",
            )
            for u in usages
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        numeric = {4, 5, 6}
        for row in rows:
            cells = [
                cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            self.stdout.write("  ".join(cells).rstrip())


def _all_clinics(*, search: str, status: str) -> tuple[list[ClinicUsage], int]:
    """Every matching clinic, a page at a time (a constant number of queries per page)."""
    usages: list[ClinicUsage] = []
    while True:
        page, total = clinics_with_usage(
            search=search, status=status, limit=MAX_PAGE_SIZE, offset=len(usages)
        )
        usages.extend(page)
        if not page or len(usages) >= total:
            return usages, total


def _clinic_json(usage: ClinicUsage) -> dict[str, Any]:
    # The platform API's own representation: the same keys in both.
    return dict(ClinicSerializer(usage).data)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
