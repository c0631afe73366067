"""Reads about the clinic fleet for operators: the registry plus usage counts.

Operators never read clinic records. The counts here come from the registry (memberships),
from PostgreSQL's catalog (storage) and from `count(*)` on a clinic's tables: numbers only,
never a row. Every read costs a constant number of queries whatever the page size: one for
the total, one for the page (members and owners annotated), one catalog query for storage,
and one UNION ALL for the patient counts of the whole page.

(The signup's reads are in provisioning/signup_selectors.py.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django_tenants.utils import schema_context

from shared_apps.accounts.models import Membership, Role
from shared_apps.clinics.models import Clinic, validate_schema_name

MAX_PAGE_SIZE = 200
PATIENTS_APP = "patients"
# What any stored subdomain looks like (the service checks the exact rules on creation).
_SUBDOMAIN_CHARACTERS = re.compile(r"^[a-z0-9-]{1,63}$")


@dataclass(frozen=True)
class ClinicUsage:
    clinic: Clinic
    member_count: int
    patient_count: int
    storage_bytes: int
    owner_emails: list[str]


# django-tenants' models are untyped, so the stubs cannot see Clinic.DoesNotExist.
_ClinicDoesNotExist: Any = Clinic.DoesNotExist


class ClinicNotFound(_ClinicDoesNotExist, Http404):
    """No clinic at this subdomain: a Clinic.DoesNotExist for services, a 404 for views."""


def clinics_with_usage(
    *, search: str = "", status: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[ClinicUsage], int]:
    """One page of clinics (by name) with their usage, and how many match in all.

    `search` matches name, subdomain or an active owner's email, ignoring case; `status`
    is one of Clinic.Status (anything else matches nothing).
    """
    limit = max(0, min(limit, MAX_PAGE_SIZE))
    offset = max(0, offset)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        clinics = _clinics_matching(search=search, status=status)
        total = clinics.count()
        page = list(_with_registry_counts(clinics).order_by("name", "pk")[offset : offset + limit])
        return _usage_for(page), total


def clinic_usage_get(*, clinic: Clinic) -> ClinicUsage:
    """One clinic's usage (same queries as a page of one)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        annotated = _with_registry_counts(Clinic.objects.filter(pk=clinic.pk)).get()
        return _usage_for([annotated])[0]


def clinic_for_operator(*, subdomain: str) -> Clinic:
    """The clinic at `subdomain` (exact, lower case); ClinicNotFound (a 404) otherwise."""
    subdomain = subdomain.strip().lower()
    clinic = None
    if _SUBDOMAIN_CHARACTERS.match(subdomain):  # junk (NUL bytes, ...) never reaches SQL
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            clinic = cast(Clinic | None, Clinic.objects.filter(subdomain=subdomain).first())
    if clinic is None:
        raise ClinicNotFound(f"No clinic at {subdomain!r}.")
    return clinic


def _active_owners() -> Q:
    return Q(memberships__role=Role.OWNER, memberships__is_active=True)


def _clinics_matching(*, search: str, status: str) -> QuerySet[Clinic]:
    clinics = cast(QuerySet[Clinic], Clinic.objects.all())
    if status:
        clinics = clinics.filter(status=status)
    search = search.strip()
    if search:
        # Exists, not a join: a clinic with two matching owners must count once.
        owner_matches = Membership.objects.filter(
            clinic=OuterRef("pk"),
            role=Role.OWNER,
            is_active=True,
            user__email__icontains=search,
        )
        clinics = clinics.filter(
            Q(name__icontains=search) | Q(subdomain__icontains=search) | Exists(owner_matches)
        )
    return clinics


def _with_registry_counts(clinics: QuerySet[Clinic]) -> QuerySet[Clinic]:
    annotated = clinics.annotate(
        active_member_count=Count(
            "memberships", filter=Q(memberships__is_active=True), distinct=True
        ),
        active_owner_emails=ArrayAgg(
            "memberships__user__email",
            filter=_active_owners(),
            distinct=True,
            order_by="memberships__user__email",
            default=[],
        ),
    )
    return cast(QuerySet[Clinic], annotated)


def _usage_for(page: list[Clinic]) -> list[ClinicUsage]:
    schemas = [clinic.schema_name for clinic in page]
    for schema in schemas:
        validate_schema_name(schema)  # generated names; checked again before any SQL
    patient_table = _patient_table()
    storage, has_patient_table = _storage_by_schema(schemas, patient_table)
    patients = (
        table_row_counts(
            [schema for schema in schemas if has_patient_table.get(schema)], patient_table
        )
        if patient_table is not None
        else {}
    )
    return [
        ClinicUsage(
            clinic=clinic,
            member_count=clinic.active_member_count,
            patient_count=patients.get(clinic.schema_name, 0),
            storage_bytes=storage.get(clinic.schema_name, 0),
            owner_emails=list(clinic.active_owner_emails),
        )
        for clinic in page
    ]


def _patient_table() -> str | None:
    """The patients table's name, or None while no patients app is installed."""
    app_label: str = PATIENTS_APP  # a variable: the model may not exist (yet)
    if not apps.is_installed(app_label):
        return None
    try:
        return str(apps.get_model(app_label, "Patient")._meta.db_table)
    except LookupError:
        return None


def _storage_by_schema(
    schemas: list[str], patient_table: str | None
) -> tuple[dict[str, int], dict[str, bool]]:
    """Bytes on disk per schema (tables with their indexes and TOAST), and whether each
    schema has the patients table (a schema behind on migrations may not have it yet)."""
    if not schemas:
        return {}, {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.nspname,
                   coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint,
                   coalesce(bool_or(c.relname = %s), false)
              FROM pg_namespace n
              LEFT JOIN pg_class c
                ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'p')
             WHERE n.nspname = ANY(%s)
             GROUP BY n.nspname
            """,
            [patient_table or "", schemas],
        )
        rows = cursor.fetchall()
    return {row[0]: int(row[1]) for row in rows}, {row[0]: bool(row[2]) for row in rows}


def table_row_counts(schemas: list[str], table: str) -> dict[str, int]:
    """Exact row counts of `table` in each of `schemas`, in one UNION ALL query.

    Every schema must have the table (see `_storage_by_schema`). Schema names are generated
    identifiers, validated here anyway; the table name comes from a model, and both are
    quoted."""
    if not schemas:
        return {}
    quote = connection.ops.quote_name
    parts = []
    params: list[str] = []
    for schema in schemas:
        validate_schema_name(schema)
        parts.append(f"SELECT %s, count(*) FROM {quote(schema)}.{quote(table)}")  # noqa: S608
        params.append(schema)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {row[0]: int(row[1]) for row in cursor.fetchall()}
