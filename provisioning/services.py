"""Creating clinics. Every entry point (demo set-up, tests, and later signup, the operator
console, the CLI and the API) calls `clinic_create`.

The whole creation runs in one PostgreSQL transaction: registry row, schema, tables,
domain, owner membership and the first audit event commit together or not at all, so a
failure at any step leaves no orphan schema and no orphan row (DDL is transactional).
"""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import schema_context, tenant_context

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import Clinic, Domain, generate_schema_name
from tenant_apps.audit.services import audit_record

# DNS label, 3-40 characters, lower case letters, digits and inner hyphens.
SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
# Addresses we use ourselves, or that would look like ours to a patient reading a link.
RESERVED_SUBDOMAINS = frozenset(
    [
        "www",
        "api",
        "admin",
        "app",
        "mail",
        "smtp",
        "imap",
        "pop",
        "static",
        "media",
        "assets",
        "cdn",
        "status",
        "help",
        "support",
        "docs",
        "blog",
        "billing",
        "login",
        "signin",
        "signup",
        "auth",
        "account",
        "accounts",
        "dashboard",
        "operator",
        "operators",
        "console",
        "platform",
        "public",
        "internal",
        "test",
        "staging",
        "dev",
        "root",
        "system",
        "webhooks",
    ]
)


def validate_subdomain(value: str) -> str:
    """The subdomain if it is acceptable as a new clinic's address, else ValidationError."""
    if value != value.lower():
        raise ValidationError("Use lower case letters only.", code="not_lower_case")
    if not SUBDOMAIN_RE.match(value) or "--" in value:
        raise ValidationError(
            "Use 3 to 40 lower case letters, digits or single hyphens, "
            "starting and ending with a letter or digit.",
            code="malformed",
        )
    if value in RESERVED_SUBDOMAINS:
        raise ValidationError("This address is reserved.", code="reserved")
    if Clinic.objects.filter(subdomain__iexact=value).exists():
        raise ValidationError("This address is already taken.", code="taken")
    return value


def clinic_host(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"


def clinic_create(
    *,
    actor: User | None,
    name: str,
    subdomain: str,
    clinic_type: str,
    owner: User,
    time_zone: str = "UTC",
    currency: str = "USD",
) -> Clinic:
    """Create a clinic with its schema, primary domain and owner; returns it `active`."""
    errors: dict[str, list[str]] = {}
    try:
        validate_subdomain(subdomain)
    except ValidationError as exc:
        errors["subdomain"] = exc.messages
    if not name.strip():
        errors["name"] = ["Enter the clinic's name."]
    if clinic_type not in Clinic.ClinicType.values:
        errors["clinic_type"] = ["Choose medical or dental."]
    if time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = ["Choose a time zone such as Europe/London."]
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = ["Use a three-letter currency code such as EUR."]
    if errors:
        raise ValidationError(errors)

    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        clinic: Clinic = Clinic.objects.create(
            name=name.strip(),
            subdomain=subdomain,
            schema_name=generate_schema_name(),
            clinic_type=clinic_type,
            time_zone=time_zone,
            currency=currency,
            status=Clinic.Status.PROVISIONING,
        )
        clinic.create_schema(check_if_exists=False, sync_schema=True, verbosity=0)
        Domain.objects.create(domain=clinic_host(subdomain), tenant=clinic, is_primary=True)
        Membership.objects.create(user=owner, clinic=clinic, role=Role.OWNER, invited_by=actor)
        with tenant_context(clinic):
            audit_record(
                actor=actor, action="clinic.create", target=clinic, details={"owner": owner.pk}
            )
        clinic.status = Clinic.Status.ACTIVE
        clinic.save(update_fields=["status"])
    return clinic
