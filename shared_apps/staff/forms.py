"""The staff page's forms and the invite-acceptance forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)

from shared_apps.accounts.models import Role, User
from shared_apps.accounts.roles import ROLE_CAPABILITIES, Capability

_CAPABILITY_PHRASES: dict[Capability, str] = {
    Capability.PATIENTS_VIEW: "view patients",
    Capability.PATIENTS_MANAGE: "manage patients",
    Capability.PATIENTS_MERGE: "merge duplicate records",
    Capability.CALENDAR_VIEW: "view the calendar",
    Capability.CALENDAR_MANAGE: "book appointments",
    Capability.CALENDAR_OVERRIDE: "overbook and book outside working hours",
    Capability.CALENDAR_SETUP: "set up practitioners, rooms and hours",
    Capability.CLINICAL_VIEW: "read clinical notes",
    Capability.CLINICAL_WRITE: "write clinical notes",
    Capability.CLINICAL_SIGN: "sign notes",
    Capability.PRESCRIPTIONS_SIGN: "sign prescriptions",
    Capability.DOCUMENTS_VIEW: "view documents",
    Capability.DOCUMENTS_VIEW_CLINICAL: "view clinical documents",
    Capability.DOCUMENTS_MANAGE: "manage documents",
    Capability.BILLING_OWN_VISITS: "invoice their own visits",
    Capability.BILLING_VIEW: "view billing",
    Capability.BILLING_MANAGE: "manage billing",
    Capability.PAYMENTS_TAKE: "take payments",
    Capability.REPORTS_VIEW: "see reports",
    Capability.STAFF_MANAGE: "manage staff",
    Capability.CLINIC_SETTINGS: "change clinic settings",
    Capability.CLINIC_SECURITY: "set the security policy",
    Capability.AUDIT_VIEW: "read the audit trail",
    Capability.CLINIC_DELETE: "delete the clinic",
}
# A weaker capability goes unsaid next to the stronger one of the same area.
_IMPLIED_BY: dict[Capability, Capability] = {
    Capability.PATIENTS_VIEW: Capability.PATIENTS_MANAGE,
    Capability.CALENDAR_VIEW: Capability.CALENDAR_MANAGE,
    Capability.CLINICAL_VIEW: Capability.CLINICAL_WRITE,
    Capability.DOCUMENTS_VIEW: Capability.DOCUMENTS_MANAGE,
    Capability.BILLING_VIEW: Capability.BILLING_MANAGE,
}


def role_summary(role: Role) -> str:
    """What a role may do, in one line, read from the capabilities table (roles.py)."""
    granted = ROLE_CAPABILITIES[role]
    if granted == frozenset(Capability):
        return "Everything, including the security policy and deleting the clinic."
    phrases = [
        _CAPABILITY_PHRASES[capability]
        for capability in Capability  # the table's order, so every line reads the same way
        if capability in granted and _IMPLIED_BY.get(capability) not in granted
    ]
    text = ", ".join(phrases)
    return text[:1].upper() + text[1:] + "."


def role_summaries() -> list[tuple[str, str]]:
    return [(role.label, role_summary(role)) for role in Role]


def grantable_roles(actor_role: str) -> list[tuple[str, str]]:
    """The roles `actor_role` may give: everything but owner unless one is an owner."""
    return [
        (role.value, role.label) for role in Role if role != Role.OWNER or actor_role == Role.OWNER
    ]


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices)

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # No role is preselected: giving someone access is a choice made on purpose.
        choices = [("", "Choose a role…"), *grantable_roles(actor_role)]
        self.fields["role"].choices = choices  # type: ignore[attr-defined]


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class AcceptNewAccountForm(forms.Form):
    """An invited address without an account: the account is made with these."""

    full_name = forms.CharField(
        label="Full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validators_help_texts()),
    )
    password_confirm = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, confirm = data.get("password"), data.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords are not the same.")
        elif password:
            candidate = User(email=self.email, full_name=data.get("full_name", ""))
            try:
                validate_password(password, user=candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class AcceptExistingAccountForm(forms.Form):
    """An invited address that already has an account: its password proves it is theirs."""

    password = forms.CharField(
        label="Password of your DR. CRM account",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
