from __future__ import annotations

from django.db.models import QuerySet

from tenant_apps.audit.models import AuditEvent


def audit_events_for_target(*, target_type: str, target_id: str | int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(target_type=target_type, target_id=str(target_id))
