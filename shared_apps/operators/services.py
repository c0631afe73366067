"""Writes of the operators app: the platform's own audit trail."""

from __future__ import annotations

from typing import Any

from drcrm import request_context
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic
from shared_apps.operators.models import OperatorEvent


def operator_event_record(
    *,
    actor: User | None,
    action: str,
    clinic: Clinic | None = None,
    details: dict[str, Any] | None = None,
) -> OperatorEvent:
    """Append one platform-level event (clinic created, suspended, token issued, ...).

    `details` holds ids and short codes only, as in a clinic's audit trail: no patient
    data ever reaches `public`.
    """
    context = request_context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return OperatorEvent.objects.create(
        actor_id=actor.pk if is_user and actor is not None else None,
        actor_email=actor.email if is_user and actor is not None else "",
        action=action,
        clinic_id=clinic.pk if clinic is not None else None,
        clinic_subdomain=clinic.subdomain if clinic is not None else "",
        details=details or {},
        source=context.source,
        client_ip=context.client_ip,
        request_id=context.request_id if context.request_id != "-" else "",
    )
