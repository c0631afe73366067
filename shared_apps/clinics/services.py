"""Changes a clinic makes to its own registry row (provisioning lives in `provisioning/`)."""

from __future__ import annotations

from django.db import transaction

from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic
from tenant_apps.audit.services import audit_record


def clinic_security_update(
    *, actor: User, clinic: Clinic, session_idle_minutes: int, require_two_factor: bool
) -> Clinic:
    """Set the sign-in policy every member of `clinic` is held to."""
    with transaction.atomic():
        clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
        changed = {
            "session_idle_minutes": session_idle_minutes != clinic.session_idle_minutes,
            "require_two_factor": require_two_factor != clinic.require_two_factor,
        }
        clinic.session_idle_minutes = session_idle_minutes
        clinic.require_two_factor = require_two_factor
        clinic.full_clean()
        clinic.save(update_fields=["session_idle_minutes", "require_two_factor"])
        audit_record(
            actor=actor,
            action="clinic.security_updated",
            target=clinic,
            details={
                "session_idle_minutes": session_idle_minutes,
                "require_two_factor": require_two_factor,
                "changed": [name for name, did in changed.items() if did],
            },
        )
    return clinic
