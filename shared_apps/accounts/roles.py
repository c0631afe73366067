"""Roles and capabilities: the one table that says who may do what in a clinic.

Every page and API endpoint declares the capability it needs (see `access.py`); a role
grants a fixed set of them. Nothing else in the code compares role names, so changing what
a role may do is a change to this table (and to the README table a test keeps in sync).
"""

from __future__ import annotations

from enum import StrEnum

from shared_apps.accounts.models import Role


class Capability(StrEnum):
    PATIENTS_VIEW = "patients.view"  # demographics and contact details
    PATIENTS_MANAGE = "patients.manage"  # create, edit, archive, import patient records
    # Folding a duplicate record into another: not undoable by hand, so not the front desk's.
    PATIENTS_MERGE = "patients.merge"
    CALENDAR_VIEW = "calendar.view"
    CALENDAR_MANAGE = "calendar.manage"  # book, move, cancel appointments
    # Book over another live appointment or outside a practitioner's hours, on purpose.
    CALENDAR_OVERRIDE = "calendar.override"
    CALENDAR_SETUP = "calendar.setup"  # practitioners, rooms, appointment types, hours
    CLINICAL_VIEW = "clinical.view"  # notes, diagnoses, treatment plans
    CLINICAL_WRITE = "clinical.write"
    CLINICAL_SIGN = "clinical.sign"
    PRESCRIPTIONS_SIGN = "prescriptions.sign"
    DOCUMENTS_VIEW = "documents.view"  # non-clinical documents (ids, consent forms)
    DOCUMENTS_VIEW_CLINICAL = "documents.view_clinical"  # results, letters, imaging
    DOCUMENTS_MANAGE = "documents.manage"
    BILLING_OWN_VISITS = "billing.own_visits"  # invoice the visits one has seen oneself
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"  # invoices, price list, refunds
    PAYMENTS_TAKE = "payments.take"
    REPORTS_VIEW = "reports.view"
    STAFF_MANAGE = "staff.manage"  # invite, change roles, deactivate
    CLINIC_SETTINGS = "clinic.settings"
    CLINIC_SECURITY = "clinic.security"  # require 2FA, session timeout (owners only)
    AUDIT_VIEW = "audit.view"
    CLINIC_DELETE = "clinic.delete"


_CLINICAL = {
    Capability.CLINICAL_VIEW,
    Capability.CLINICAL_WRITE,
    Capability.CLINICAL_SIGN,
    Capability.PRESCRIPTIONS_SIGN,
    Capability.DOCUMENTS_VIEW_CLINICAL,
}
_FRONT_DESK = {
    Capability.PATIENTS_VIEW,
    Capability.PATIENTS_MANAGE,
    Capability.CALENDAR_VIEW,
    Capability.CALENDAR_MANAGE,
    Capability.DOCUMENTS_VIEW,
    Capability.DOCUMENTS_MANAGE,
}

ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.OWNER: frozenset(Capability),
    # The practice manager runs the clinic but reads no clinical content, and cannot delete it.
    Role.ADMIN: frozenset(
        set(Capability)
        - _CLINICAL
        - {Capability.CLINIC_DELETE, Capability.CLINIC_SECURITY, Capability.BILLING_OWN_VISITS}
    ),
    Role.PRACTITIONER: frozenset(
        _FRONT_DESK | _CLINICAL | {Capability.BILLING_OWN_VISITS, Capability.PATIENTS_MERGE}
    ),
    # Assistants read clinical content but do not merge records (like the front desk): a
    # merge moves a patient's whole history, which is for the clinician or the manager.
    Role.ASSISTANT: frozenset(
        _FRONT_DESK | {Capability.CLINICAL_VIEW, Capability.DOCUMENTS_VIEW_CLINICAL}
    ),
    # Front desk: demographics, calendar, payments; no clinical content anywhere.
    Role.RECEPTIONIST: frozenset(_FRONT_DESK | {Capability.PAYMENTS_TAKE}),
    Role.BILLING: frozenset(
        {
            Capability.PATIENTS_VIEW,
            Capability.BILLING_VIEW,
            Capability.BILLING_MANAGE,
            Capability.PAYMENTS_TAKE,
            Capability.REPORTS_VIEW,
        }
    ),
}


def role_can(role: str, capability: Capability | str) -> bool:
    """Whether `role` grants `capability`; unknown roles and capabilities grant nothing."""
    try:
        return Capability(capability) in ROLE_CAPABILITIES.get(Role(role), frozenset())
    except ValueError:
        return False


def capabilities_of(role: str) -> frozenset[Capability]:
    try:
        return ROLE_CAPABILITIES[Role(role)]
    except ValueError:
        return frozenset()


def roles_table_markdown() -> str:
    """The role x capability table as the README shows it (a test keeps the two equal)."""
    roles = list(Role)
    header = "| capability | " + " | ".join(role.value for role in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    rows = [
        f"| `{capability.value}` | "
        + " | ".join("✓" if capability in ROLE_CAPABILITIES[role] else "" for role in roles)
        + " |"
        for capability in Capability
    ]
    return "\n".join([header, rule, *rows])
