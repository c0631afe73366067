"""The one way to write an audit row. Services call it inside their own transaction, so
the change and its audit row commit (or roll back) together."""

from __future__ import annotations

from typing import Any

from django.db import models

from drcrm import request_context
from drcrm.tenancy import on_public_schema
from tenant_apps.audit.models import AuditEvent

# Keys whose values would be free text; refusing them keeps patient data out of the trail.
_SCALAR_TYPES = (int, float, bool, str, type(None))
MAX_DETAIL_STRING = 100


class AuditDetailsNotAllowed(ValueError):
    pass


def _check_details(details: dict[str, Any]) -> None:
    for key, value in details.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, _SCALAR_TYPES):
                raise AuditDetailsNotAllowed(f"audit detail {key!r} must be ids or codes")
            if isinstance(item, str) and len(item) > MAX_DETAIL_STRING:
                raise AuditDetailsNotAllowed(f"audit detail {key!r} looks like free text")


def audit_record(
    *,
    actor: Any | None,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    details: dict[str, Any] | None = None,
    actor_email: str = "",
) -> AuditEvent:
    """Append one event to the current clinic's audit trail.

    `actor` is a user (or None for the system). `actor_email` names who was attempting
    something when there is no user to point at (a failed sign-in). Where the request came
    from (IP, request id, web/api/task) is taken from the request context the middleware or
    task set.
    """
    if on_public_schema():
        raise RuntimeError("audit_record needs a clinic: the audit trail lives in its schema")
    details = details or {}
    _check_details(details)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target.pk
    context = request_context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor_id=getattr(actor, "pk", None) if is_user else None,
        actor_email=getattr(actor, "email", "") if is_user else actor_email[:254],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        source=context.source,
        client_ip=context.client_ip,
        request_id=context.request_id if context.request_id != "-" else "",
        details=details,
    )
