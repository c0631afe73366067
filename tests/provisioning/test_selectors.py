"""The fleet's usage for operators: right counts, a constant number of queries, search."""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from drcrm.link_tokens import link_token_new
from provisioning.selectors import (
    _storage_by_schema,
    clinic_for_operator,
    clinic_usage_get,
    clinics_with_usage,
    table_row_counts,
)
from provisioning.services import clinic_suspend
from shared_apps.accounts.models import Membership, Role
from shared_apps.clinics.models import Clinic
from tenant_apps.api_tokens.models import ApiToken
from tests import factories

pytestmark = pytest.mark.django_db


def _usage_by_subdomain(**filters):
    page, total = clinics_with_usage(limit=200, **filters)
    return {usage.clinic.subdomain: usage for usage in page}, total


def test_members_count_only_active_memberships_and_owners_are_listed(clinic_a, owner_a):
    gone = factories.user_create(email="gone@clinic-a.example")
    Membership.objects.create(user=gone, clinic=clinic_a, role=Role.OWNER, is_active=False)
    second_owner = factories.user_create(email="another-owner@clinic-a.example")
    factories.membership_add(user=second_owner, clinic=clinic_a, role=Role.OWNER)

    usage = clinic_usage_get(clinic=clinic_a)

    # owner, practitioner, receptionist and the second owner; not the deactivated one
    assert usage.member_count == 4
    assert usage.owner_emails == ["another-owner@clinic-a.example", "owner@clinic-a.example"]
    assert usage.patient_count == 0  # no patients app yet
    assert usage.storage_bytes > 0


def test_storage_is_measured_from_the_catalog_per_schema(clinic_a, clinic_b):
    by_subdomain, _ = _usage_by_subdomain()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')",
            [clinic_b.schema_name],
        )
        expected = cursor.fetchone()[0]
    assert by_subdomain["clinic-b"].storage_bytes == expected


def test_table_row_counts_counts_each_schema_exactly_in_one_query(clinic_a, clinic_b, owner_a):
    with tenant_context(clinic_a):
        for name in ("one", "two"):
            token, token_hash = link_token_new()
            ApiToken.objects.create(
                user_id=owner_a.pk, name=name, token_hash=token_hash, prefix=token[:8]
            )
    table = ApiToken._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        counts = table_row_counts([clinic_a.schema_name, clinic_b.schema_name], table)
    assert counts == {clinic_a.schema_name: 2, clinic_b.schema_name: 0}
    # (django-tenants may first set the search path back to public)
    assert [q for q in queries if not q["sql"].startswith("SET search_path")] == [queries[-1]]


def test_the_query_count_does_not_grow_with_the_page(world, db):
    for n in range(4):
        factories.clinic_make(subdomain=f"fleet-{n}", name=f"Fleet {n}")

    def queries_for(limit):
        with CaptureQueriesContext(connection) as queries:
            page, _ = clinics_with_usage(limit=limit)
        assert len(page) == limit
        return len(queries)

    assert queries_for(1) == queries_for(6)


def test_search_matches_name_subdomain_and_owner_email_ignoring_case(clinic_a, clinic_b):
    assert set(_usage_by_subdomain(search="mark-a smile")[0]) == {"clinic-a"}
    assert set(_usage_by_subdomain(search="CLINIC-B")[0]) == {"clinic-b"}
    assert set(_usage_by_subdomain(search="Owner@Clinic-A.Example")[0]) == {"clinic-a"}
    # the practitioner's address is not an owner's
    assert _usage_by_subdomain(search="practitioner@clinic-a")[1] == 0


def test_a_clinic_with_two_matching_owners_counts_once(clinic_a):
    factories.membership_add(
        user=factories.user_create(email="owner2@clinic-a.example"), clinic=clinic_a, role="owner"
    )
    by_subdomain, total = _usage_by_subdomain(search="@clinic-a.example")
    assert list(by_subdomain) == ["clinic-a"]
    assert total == 1


def test_status_filter_limit_offset_and_total(clinic_a, clinic_b):
    clinic_suspend(actor=None, clinic=clinic_b, reason="Unpaid invoices")
    by_subdomain, total = _usage_by_subdomain(status=Clinic.Status.SUSPENDED)
    assert list(by_subdomain) == ["clinic-b"]
    assert total == 1
    everything, all_total = clinics_with_usage(limit=200)
    page, total = clinics_with_usage(limit=1, offset=1)
    assert total == all_total
    assert [usage.clinic.pk for usage in page] == [everything[1].clinic.pk]
    assert clinics_with_usage(status="nonsense") == ([], 0)


def test_clinic_for_operator_finds_by_subdomain_or_raises_a_404(clinic_a):
    assert clinic_for_operator(subdomain="clinic-a").pk == clinic_a.pk
    with pytest.raises(Clinic.DoesNotExist):
        clinic_for_operator(subdomain="no-such-clinic")
    with pytest.raises(Http404):
        clinic_for_operator(subdomain="no-such-clinic")


def test_a_registry_row_whose_schema_is_missing_counts_zero_and_breaks_nothing(clinic_a):
    # A clinic row without its schema (a restore gone wrong): the page still answers.
    Clinic.objects.create(
        name="Ghost Clinic",
        subdomain="ghost",
        schema_name="c_nosuchschema",
        clinic_type="dental",
        status=Clinic.Status.ACTIVE,
    )
    by_subdomain, _ = _usage_by_subdomain()
    ghost = by_subdomain["ghost"]
    assert (ghost.member_count, ghost.patient_count, ghost.storage_bytes) == (0, 0, 0)
    assert by_subdomain["clinic-a"].storage_bytes > 0


def test_only_schemas_that_have_the_counted_table_are_counted(clinic_a, clinic_b):
    # The patients table is looked for in the same catalog query as the storage, so a
    # schema still behind on migrations (no such table yet) is never queried for it.
    schemas = [clinic_a.schema_name, clinic_b.schema_name, "c_nosuchschema"]
    _, has_table = _storage_by_schema(schemas, ApiToken._meta.db_table)
    assert has_table == {clinic_a.schema_name: True, clinic_b.schema_name: True}
    _, has_table = _storage_by_schema(schemas, "no_such_table")
    assert has_table == {clinic_a.schema_name: False, clinic_b.schema_name: False}
