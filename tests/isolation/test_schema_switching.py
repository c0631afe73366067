"""search_path and cache hygiene: one connection, one Redis, never the other clinic's data."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context

from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.services import audit_record
from tests.isolation.markers import assert_no_marker, marker

pytestmark = pytest.mark.django_db


def seed_markers(clinic_a, clinic_b):
    """The same rows in both clinics (the ids collide), each with its clinic's marker."""
    for clinic in (clinic_a, clinic_b):
        with tenant_context(clinic):
            for n in range(3):
                audit_record(
                    actor=None,
                    action="seed",
                    target_type="marker",
                    target_id=marker(clinic, str(n)),
                )


def markers_seen() -> set[str]:
    return set(AuditEvent.objects.filter(action="seed").values_list("target_id", flat=True))


def test_alternating_clinics_on_one_connection_only_ever_see_their_own_rows(clinic_a, clinic_b):
    seed_markers(clinic_a, clinic_b)
    for clinic, other in [(clinic_a, clinic_b), (clinic_b, clinic_a)] * 3:
        with tenant_context(clinic):
            seen = markers_seen()
        assert seen == {marker(clinic, str(n)) for n in range(3)}
        assert_no_marker(" ".join(seen), marker(other))


def test_a_rolled_back_savepoint_does_not_leave_the_other_clinics_search_path(clinic_a, clinic_b):
    # django-tenants #1262: switching schema inside a savepoint that rolls back must not
    # leave queries running against the schema chosen inside it.
    seed_markers(clinic_a, clinic_b)
    connection.set_tenant(clinic_a)
    try:
        with transaction.atomic():
            connection.set_tenant(clinic_b)
            assert markers_seen() == {marker(clinic_b, str(n)) for n in range(3)}
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    connection.set_tenant(clinic_a)
    assert markers_seen() == {marker(clinic_a, str(n)) for n in range(3)}


def test_cache_keys_are_per_clinic(clinic_a, clinic_b):
    with tenant_context(clinic_a):
        cache.set("greeting", marker(clinic_a))
    with tenant_context(clinic_b):
        assert cache.get("greeting") is None
        cache.set("greeting", marker(clinic_b))
    with tenant_context(clinic_a):
        assert cache.get("greeting") == marker(clinic_a)
    with schema_context("public"):
        assert cache.get("greeting") is None
    for clinic in (clinic_a, clinic_b):
        with tenant_context(clinic):
            cache.delete("greeting")


def test_every_clinic_schema_has_the_same_tables(clinic_a, clinic_b):
    def tables(schema: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "ORDER BY table_name",
                [schema],
            )
            return [row[0] for row in cursor.fetchall()]

    assert tables(clinic_a.schema_name) == tables(clinic_b.schema_name)
    assert "audit_auditevent" in tables(clinic_a.schema_name)
    assert "audit_auditevent" not in tables("public")
    assert "clinics_clinic" not in tables(clinic_a.schema_name)


def test_cache_keys_written_in_a_clinic_carry_its_schema_name(clinic_a):
    with tenant_context(clinic_a):
        cache.set("probe", 1)
        raw_key = cache.make_key("probe")
        client = cache._cache.get_client()
        try:
            assert raw_key.startswith(f"{clinic_a.schema_name}:")
            assert client.exists(raw_key)
        finally:
            cache.delete("probe")
