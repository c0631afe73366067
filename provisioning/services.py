"""Creating, suspending and resuming clinics. Every entry point (signup, the operator
console and API, the CLI, demo set-up, tests) calls these functions.

Creation runs in one PostgreSQL transaction: registry row (status `provisioning`), schema
(replayed from the template, provisioning/template.py), primary domain, the owner's
membership or invite, the first audit events, and status `active` commit together or not
at all. DDL is transactional in PostgreSQL, so a failure at any step, or a killed process,
leaves no orphan schema and no orphan row; emails go out only after the commit.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from provisioning.template import schema_create_from_template, schema_template_current
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import Clinic, Domain, generate_schema_name, known_time_zones
from shared_apps.operators.services import operator_event_record
from shared_apps.staff.services import owner_invite_create
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
    validate_subdomain_form(value)
    # Subdomains are stored lower case (a check constraint), so equality is case-blind here.
    if Clinic.objects.filter(subdomain=value).exists():
        raise ValidationError("This address is already taken.", code="taken")
    return value


def validate_subdomain_form(value: str) -> str:
    """The checks that need no database: case, DNS label shape, punycode, reserved words."""
    if value != value.lower():
        raise ValidationError("Use lower case letters only.", code="not_lower_case")
    if not SUBDOMAIN_RE.match(value) or "--" in value:
        # "--" also refuses punycode (xn--...): look-alike addresses of other clinics.
        raise ValidationError(
            "Use 3 to 40 lower case letters, digits or single hyphens, "
            "starting and ending with a letter or digit.",
            code="malformed",
        )
    if value in RESERVED_SUBDOMAINS:
        raise ValidationError("This address is reserved.", code="reserved")
    return value


def clinic_host(subdomain: str) -> str:
    return f"{subdomain}.{settings.BASE_DOMAIN}"


class ProvisioningStep(enum.StrEnum):
    """The steps of `clinic_create`, in order; `on_step` hears each one as it starts."""

    VALIDATE = "validate", "Checking the details"
    TEMPLATE = "template", "Preparing the clinic template"
    REGISTRY = "registry", "Registering the clinic"
    SCHEMA = "schema", "Creating the clinic's database"
    DOMAIN = "domain", "Setting up the clinic's address"
    OWNER = "owner", "Adding the owner"
    ACTIVATE = "activate", "Opening the clinic"

    label: str

    def __new__(cls, value: str, label: str) -> ProvisioningStep:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


StepListener = Callable[[ProvisioningStep], None]


def clinic_create(
    *,
    actor: User | None,
    name: str,
    subdomain: str,
    clinic_type: str,
    owner: User | None = None,
    owner_email: str = "",
    time_zone: str = "UTC",
    currency: str = "USD",
    country: str = "",
    plan: str = Clinic.Plan.TRIAL,
    on_step: StepListener | None = None,
) -> Clinic:
    """Create a clinic with its schema and primary domain; returns it `active`.

    The owner is either `owner`, an existing account that becomes the owner at once
    (signup, after the email was verified), or `owner_email`, who is sent an owner invite
    (the operator console, the API and the CLI create clinics for someone else).
    Raises ValidationError with a field map for anything a person could have typed.
    """
    step = on_step or (lambda _step: None)
    step(ProvisioningStep.VALIDATE)
    _validate_new_clinic(
        name=name,
        subdomain=subdomain,
        clinic_type=clinic_type,
        owner=owner,
        owner_email=owner_email,
        time_zone=time_zone,
        currency=currency,
        country=country,
        plan=plan,
    )
    step(ProvisioningStep.TEMPLATE)
    template = schema_template_current()  # outside the transaction: may run migrations
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        step(ProvisioningStep.REGISTRY)
        clinic = _registry_row_create(
            name=name,
            subdomain=subdomain,
            clinic_type=clinic_type,
            time_zone=time_zone,
            currency=currency,
            country=country,
            plan=plan,
            schema_fingerprint=template.fingerprint,
        )
        step(ProvisioningStep.SCHEMA)
        schema_create_from_template(clinic.schema_name, template)
        step(ProvisioningStep.DOMAIN)
        _primary_domain_create(clinic)
        step(ProvisioningStep.OWNER)
        with tenant_context(clinic):
            audit_record(actor=actor, action="clinic.create", target=clinic, details={})
            if owner is not None:
                membership = Membership.objects.create(
                    user=owner, clinic=clinic, role=Role.OWNER, invited_by=actor
                )
                audit_record(
                    actor=actor,
                    action="clinic.owner_added",
                    target=membership,
                    details={"user": owner.pk},
                )
            else:
                owner_invite_create(actor=actor, clinic=clinic, email=owner_email)
        step(ProvisioningStep.ACTIVATE)
        clinic.status = Clinic.Status.ACTIVE
        clinic.status_changed_at = timezone.now()
        clinic.save(update_fields=["status", "status_changed_at"])
        operator_event_record(
            actor=actor,
            action="clinic.create",
            clinic=clinic,
            details={"plan": plan, "owner_invited": owner is None},
        )
    return clinic


def _validate_new_clinic(
    *,
    name: str,
    subdomain: str,
    clinic_type: str,
    owner: User | None,
    owner_email: str,
    time_zone: str,
    currency: str,
    country: str,
    plan: str,
) -> None:
    errors: dict[str, list[str]] = {}
    try:
        validate_subdomain(subdomain)
    except ValidationError as exc:
        errors["subdomain"] = exc.messages
    if not name.strip():
        errors["name"] = ["Enter the clinic's name."]
    elif len(name.strip()) > 200:
        errors["name"] = ["Use at most 200 characters."]
    if clinic_type not in Clinic.ClinicType.values:
        errors["clinic_type"] = ["Choose medical or dental."]
    if time_zone not in known_time_zones():
        errors["time_zone"] = ["Choose a time zone such as Europe/London."]
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = ["Use a three-letter currency code such as EUR."]
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        errors["country"] = ["Use a two-letter country code such as GB."]
    if plan not in Clinic.Plan.values:
        errors["plan"] = [f"Choose one of: {', '.join(Clinic.Plan.values)}."]
    if (owner is None) == (not owner_email):
        errors["owner_email"] = ["Give the owner's email address."]
    if errors:
        raise ValidationError(errors)


def _registry_row_create(*, subdomain: str, **fields: str) -> Clinic:
    clinic = Clinic(
        subdomain=subdomain,
        schema_name=generate_schema_name(),
        status=Clinic.Status.PROVISIONING,
        **{**fields, "name": fields["name"].strip()},
    )
    try:
        # bulk_create skips TenantMixin.save()'s case-insensitive scan of every schema name
        # (generated names are lower case and unique in the column), which grows with the
        # fleet. No savepoint: an IntegrityError ends the whole creation anyway.
        Clinic.objects.bulk_create([clinic])
    except IntegrityError:
        raise ValidationError(
            {"subdomain": ["This address was taken a moment ago. Choose another."]}
        ) from None
    return clinic


def _primary_domain_create(clinic: Clinic) -> Domain:
    domain = Domain(domain=clinic_host(clinic.subdomain), tenant=clinic, is_primary=True)
    try:
        # bulk_create skips DomainMixin.save()'s demotion of the clinic's other primary
        # domains: a clinic being created has none.
        Domain.objects.bulk_create([domain])
    except IntegrityError:
        # Only a host added by hand for another clinic can clash with a free subdomain.
        raise ValidationError(
            {"subdomain": ["This address is already in use. Choose another."]}
        ) from None
    return domain


def clinic_suspend(*, actor: User | None, clinic: Clinic, reason: str) -> Clinic:
    """Close a clinic to everyone (its pages answer 403) until it is resumed."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the clinic is suspended."]})
    return _status_change(
        actor=actor,
        clinic=clinic,
        allowed_from=(Clinic.Status.ACTIVE,),
        to=Clinic.Status.SUSPENDED,
        reason=reason,
        action="clinic.suspend",
    )


def clinic_resume(*, actor: User | None, clinic: Clinic, reason: str = "") -> Clinic:
    """Open a suspended clinic again."""
    return _status_change(
        actor=actor,
        clinic=clinic,
        allowed_from=(Clinic.Status.SUSPENDED,),
        to=Clinic.Status.ACTIVE,
        reason=reason.strip(),
        action="clinic.resume",
    )


def _status_change(
    *,
    actor: User | None,
    clinic: Clinic,
    allowed_from: tuple[str, ...],
    to: str,
    reason: str,
    action: str,
) -> Clinic:
    if len(reason) > 500:
        raise ValidationError({"reason": ["Use at most 500 characters."]})
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
        if clinic.status not in allowed_from:
            raise ValidationError(
                {"status": [f"The clinic is {clinic.get_status_display().lower()}."]},
                code="wrong_status",
            )
        clinic.status = to
        clinic.status_reason = reason
        clinic.status_changed_at = timezone.now()
        clinic.save(update_fields=["status", "status_reason", "status_changed_at"])
        # The clinic's own trail says the platform closed or reopened it; the reason is
        # free text an operator typed, so it stays in the registry, not in the trail.
        with tenant_context(clinic):
            audit_record(actor=actor, action=action, target=clinic, details={})
        operator_event_record(actor=actor, action=action, clinic=clinic, details={})
    return clinic
