"""Typed access to the connection's clinic state (django-tenants adds it untyped)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db import connection

# django-tenants' DatabaseWrapper: schema_name, tenant, set_tenant(), set_schema_to_public().
tenant_connection: Any = cast(Any, connection)


def current_schema_name() -> str:
    return str(tenant_connection.schema_name)


def on_public_schema() -> bool:
    return current_schema_name() == settings.PUBLIC_SCHEMA_NAME


def current_clinic() -> Any:
    """The clinic whose schema the connection is on (None or a stand-in on `public`)."""
    return getattr(tenant_connection, "tenant", None)
