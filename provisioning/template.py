"""The clinic-schema template: make a clinic's tables by replaying SQL, not by migrating.

Running Django's migrations for every new clinic costs a second or more, and grows with
the fleet because Django introspects the whole catalog per schema. Instead:

1. A schema named `TEMPLATE_SCHEMA` is migrated the slow way, once per migration graph.
2. `pg_dump` turns it into SQL (tables, indexes, constraints, the audit trigger, and the
   rows migrations leave behind: `django_migrations`, content types), with the schema's
   name replaced by a placeholder. That SQL is stored in `SchemaTemplate` with the graph's
   fingerprint.
3. A clinic's schema is made by replaying the stored SQL under its own name, inside the
   provisioning transaction: a few milliseconds, and no catalog-wide queries.

When the code's migration graph changes, the fingerprint changes, and the next clinic
creation (or `migrate_clinics`) rebuilds the template first. A test compares a schema made
this way with one made by running every migration (`pg_dump --schema-only`, names
normalised, plus the `django_migrations` rows).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader

from drcrm.tenancy import tenant_connection
from provisioning.models import SchemaTemplate

# Not a clinic (no registry row), so django-tenants' own commands never touch it.
TEMPLATE_SCHEMA = "tpl_clinic_schema"
SCHEMA_PLACEHOLDER = "__clinic_schema__"
# pg_advisory_lock key: one process at a time rebuilds the template.
TEMPLATE_LOCK_KEY = 0x44524352_0001  # "DRCR" + 1

# Lines of pg_dump output that are not SQL for us to replay: psql meta-commands
# (`\restrict`), session settings that would outlive the replay on a pooled connection.
_NOT_REPLAYED = re.compile(r"^(\\|SET |SELECT pg_catalog\.set_config\()")


@cache
def migration_graph() -> tuple[tuple[str, str], ...]:
    """Every migration the code has, as sorted (app, name) pairs.

    Migrating a clinic schema records all of them in its `django_migrations` (shared
    apps' too, as no-ops), so the whole graph is what a clinic schema is "at".
    """
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return tuple(sorted(loader.graph.nodes))


def current_fingerprint() -> str:
    """SHA-256 of the code's migration graph; equal fingerprints mean equal schemas."""
    digest = hashlib.sha256()
    for app, name in migration_graph():
        digest.update(f"{app}.{name}\n".encode())
    return digest.hexdigest()


def schema_template_current() -> SchemaTemplate:
    """The template for the current migration graph, built first if there is none."""
    fingerprint = current_fingerprint()
    # The SQL is large and never changes for a given row: fetch it once per process.
    template_id = (
        SchemaTemplate.objects.filter(fingerprint=fingerprint).values_list("pk", flat=True).first()
    )
    if template_id is None:
        template = schema_template_rebuild()
    elif (template_id, fingerprint) in _templates_read:
        return _templates_read[template_id, fingerprint]
    else:
        template = SchemaTemplate.objects.get(pk=template_id)
    _templates_read[template.pk, template.fingerprint] = template
    return template


_templates_read: dict[tuple[int, str], SchemaTemplate] = {}


def schema_template_rebuild() -> SchemaTemplate:
    """Migrate the template schema from scratch and store its SQL under the fingerprint.

    Serialised by an advisory lock: processes that wait find the row the first one made.
    Runs outside any transaction (migrations manage their own), on `public`.
    """
    if connection.in_atomic_block:
        raise RuntimeError("the schema template is built outside transactions")
    fingerprint = current_fingerprint()
    tenant_connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [TEMPLATE_LOCK_KEY])
    try:
        template = SchemaTemplate.objects.filter(fingerprint=fingerprint).first()
        if template is not None:
            return template
        started = time.perf_counter()
        _migrate_template_schema()
        sql = template_sql_from_schema(TEMPLATE_SCHEMA)
        with transaction.atomic():
            SchemaTemplate.objects.exclude(fingerprint=fingerprint).delete()
            template = SchemaTemplate.objects.create(
                fingerprint=fingerprint,
                sql=sql,
                migrations=[list(node) for node in migration_graph()],
                pg_dump_version=pg_dump_version(),
                build_seconds=round(time.perf_counter() - started, 3),
            )
        return template
    finally:
        tenant_connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [TEMPLATE_LOCK_KEY])


def _migrate_template_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {TEMPLATE_SCHEMA} CASCADE")
        cursor.execute(f"CREATE SCHEMA {TEMPLATE_SCHEMA}")
    call_command(
        "migrate_schemas",
        schema_name=TEMPLATE_SCHEMA,
        tenant=True,
        interactive=False,
        verbosity=0,
    )
    tenant_connection.set_schema_to_public()


def schema_create_from_template(schema_name: str, template: SchemaTemplate) -> None:
    """Create `schema_name` with every table and row the template has.

    Meant to run inside the caller's transaction, so a failure later in provisioning
    takes the schema away with everything else.
    """
    from shared_apps.clinics.models import validate_schema_name

    validate_schema_name(schema_name)  # spliced into SQL below: generated names only
    with connection.cursor() as cursor:
        cursor.execute(template.sql.replace(SCHEMA_PLACEHOLDER, schema_name))


def template_sql_from_schema(schema_name: str) -> str:
    """pg_dump of `schema_name` (DDL and rows) as replayable SQL with a name placeholder."""
    dump = pg_dump(["--inserts", f"--schema={schema_name}"])
    lines = [line for line in dump.splitlines() if not _NOT_REPLAYED.match(line)]
    return _with_placeholder("\n".join(lines), schema_name)


def schema_ddl(schema_name: str) -> str:
    """`pg_dump --schema-only` of one schema, its name replaced by the placeholder."""
    dump = pg_dump(["--schema-only", f"--schema={schema_name}"])
    # `\restrict <random key>` (pg_dump 15.14+) differs on every run; it is not schema.
    lines = [line for line in dump.splitlines() if not line.startswith("\\")]
    return _with_placeholder("\n".join(lines), schema_name)


def _with_placeholder(sql: str, schema_name: str) -> str:
    # Schema names are generated lower-case identifiers, which pg_dump never quotes.
    return re.sub(rf"\b{re.escape(schema_name)}\b", SCHEMA_PLACEHOLDER, sql)


# --- pg_dump --------------------------------------------------------------------------------


def pg_dump(arguments: list[str]) -> str:
    """Run pg_dump against the database this process is connected to; returns its output."""
    # The live connection's own parameters: DATABASE_URL may name a Unix socket directory
    # in its query string (the embedded server of `make run`), which settings keep apart.
    connection.ensure_connection()
    info = connection.connection.info
    env = {**os.environ, "PGPASSWORD": info.password or ""}
    command = [
        pg_dump_path(),
        "--no-owner",
        "--no-privileges",
        "--no-comments",
        f"--host={info.host}",
        f"--port={info.port}",
        f"--username={info.user}",
        *arguments,
        info.dbname,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {done.stderr.strip()}")
    return done.stdout


def pg_dump_version() -> str:
    done = subprocess.run(  # noqa: S603
        [pg_dump_path(), "--version"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@cache
def pg_dump_path() -> str:
    """A pg_dump at least as new as the server (an older one refuses to dump it).

    Looks at `PG_DUMP` (setting or environment), PATH, Debian's versioned directories,
    then the embedded server's own binaries (`make run` without DATABASE_URL).
    """
    server_major = _server_major_version()
    for candidate in _pg_dump_candidates():
        major = _major_version_of(candidate)
        if major is not None and major >= server_major:
            return candidate
    raise ImproperlyConfigured(
        f"No pg_dump of PostgreSQL {server_major} or newer found: install the PostgreSQL "
        "client tools or set PG_DUMP to its path."
    )


def _pg_dump_candidates() -> list[str]:
    candidates = []
    configured = getattr(settings, "PG_DUMP", "") or os.environ.get("PG_DUMP", "")
    if configured:
        candidates.append(configured)
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(on_path)
    versioned = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), reverse=True)
    candidates.extend(str(path) for path in versioned)
    try:
        import pgserver  # the embedded server of `make run`

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"))
    except ImportError:
        pass
    return [path for path in candidates if os.access(path, os.X_OK)]


def _major_version_of(pg_dump_binary: str) -> int | None:
    try:
        done = subprocess.run(  # noqa: S603
            [pg_dump_binary, "--version"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", done.stdout)
    return int(found.group(1)) if found else None


def _server_major_version() -> int:
    connection.ensure_connection()
    return int(connection.pg_version // 10000)  # type: ignore[attr-defined]
