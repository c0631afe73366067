"""Clinic schemas made from the template are the schemas the migrations would make.

pg_dump runs in its own connection and sees only committed schemas, so these tests commit
their schemas (outside the per-test transaction) and drop them when they finish.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from provisioning.models import SchemaTemplate
from provisioning.template import (
    SCHEMA_PLACEHOLDER,
    TEMPLATE_SCHEMA,
    current_fingerprint,
    migration_graph,
    schema_create_from_template,
    schema_ddl,
    schema_template_current,
    schema_template_rebuild,
)
from shared_apps.clinics.models import Clinic

FAST = "c_equality_fast"
MIGRATED = "c_equality_slow"


@pytest.fixture
def committed(world: object, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """Database access without the per-test transaction; drops the schemas made here."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        try:
            yield
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                for schema in (FAST, MIGRATED):
                    cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def rows(schema: str, sql: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{schema}", schema))
        return list(cursor.fetchall())


def make_by_migrating(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
    call_command("migrate_schemas", schema_name=schema, tenant=True, verbosity=0)
    connection.set_schema_to_public()


def make_from_template(schema: str) -> None:
    with transaction.atomic():
        schema_create_from_template(schema, schema_template_current())


def test_a_template_made_schema_equals_a_migrated_one(committed: None) -> None:
    make_by_migrating(MIGRATED)
    make_from_template(FAST)

    migrated_ddl = schema_ddl(MIGRATED)
    assert "CREATE TABLE" in migrated_ddl
    assert SCHEMA_PLACEHOLDER in migrated_ddl
    assert "audit_event_no_update_or_delete" in migrated_ddl  # triggers are compared too
    assert schema_ddl(FAST) == migrated_ddl

    applied = "SELECT app, name FROM {schema}.django_migrations ORDER BY app, name"
    assert rows(FAST, applied) == rows(MIGRATED, applied) == [*map(tuple, migration_graph())]
    content_types = "SELECT app_label, model FROM {schema}.django_content_type ORDER BY 1, 2"
    assert rows(FAST, content_types) == rows(MIGRATED, content_types) != []


def test_a_template_made_schema_starts_its_ids_where_a_migrated_one_does(
    committed: None,
) -> None:
    """Sequences are copied with their positions: the first audit event gets the same id."""
    make_by_migrating(MIGRATED)
    make_from_template(FAST)
    next_ids = [
        rows(schema, "SELECT nextval('{schema}.django_content_type_id_seq')")[0][0]
        for schema in (FAST, MIGRATED)
    ]
    assert next_ids[0] == next_ids[1]


def test_the_template_is_rebuilt_when_the_migration_graph_changes(committed: None) -> None:
    """A template recorded under another fingerprint (the code gained a migration since)
    is never used: the next creation migrates a fresh template first."""
    current = schema_template_current()
    SchemaTemplate.objects.filter(pk=current.pk).update(fingerprint="an-older-graph")
    with connection.cursor() as cursor:  # what an older graph's template would lack
        cursor.execute(f"DROP TABLE {TEMPLATE_SCHEMA}.api_tokens_apitoken")

    rebuilt = schema_template_current()

    assert rebuilt.fingerprint == current_fingerprint()
    assert list(SchemaTemplate.objects.values_list("fingerprint", flat=True)) == [
        current_fingerprint()
    ]
    assert "api_tokens_apitoken" in rebuilt.sql
    assert rebuilt.migrations == [list(node) for node in migration_graph()]


def test_rebuilding_is_refused_inside_a_transaction(committed: None) -> None:
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside transactions"):
        schema_template_rebuild()


def test_new_clinics_record_the_fingerprint_they_were_made_at(world: object, db: None) -> None:
    assert set(Clinic.objects.values_list("schema_fingerprint", flat=True)) == {
        current_fingerprint()
    }
