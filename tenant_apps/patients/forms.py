"""Forms of the patient pages: they parse what was typed into a PatientInput; the services
decide whether it is acceptable, and their field map comes back onto the form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tenant_apps.patients.models import Channel, ConsentMethod, Patient
from tenant_apps.patients.services import INPUT_FIELDS, PatientInput

# Allergies and medical alerts are clinical content: only roles that may read it see them.
CLINICAL_FIELDS = ("allergies", "medical_alerts")
# A generous cap before the service's own per-field limits, so a 100 kB paste is refused
# with a field error rather than carried through every check.
TEXT_LIMIT = 5000


def _text(label: str, *, required: bool = False, max_length: int = 200, **kw: Any) -> forms.Field:
    return forms.CharField(label=label, required=required, max_length=max_length, **kw)


def _area(label: str, help_text: str = "") -> forms.Field:
    return forms.CharField(
        label=label,
        required=False,
        max_length=TEXT_LIMIT,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PatientForm(forms.Form):
    """Create and edit a patient.

    Allergies and medical alerts are on the form only for roles with clinical.view (every
    role with clinical.write has it too): others never see the text, so they cannot be
    asked to edit it. Their edits keep the stored values (`stored`), never blank them.
    """

    first_name = _text("First name", required=True, max_length=100)
    last_name = _text("Last name", required=True, max_length=100)
    preferred_name = _text("Preferred name", max_length=100)
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sex = forms.ChoiceField(label="Sex", choices=Patient.Sex.choices, initial=Patient.Sex.UNKNOWN)
    phone = _text("Mobile phone", max_length=50, widget=forms.TextInput(attrs={"type": "tel"}))
    phone_alt = _text("Other phone", max_length=50, widget=forms.TextInput(attrs={"type": "tel"}))
    email = _text("Email", max_length=254, widget=forms.EmailInput())
    address_line1 = _text("Address")
    address_line2 = _text("Address (line 2)")
    city = _text("City", max_length=100)
    postcode = _text("Postcode", max_length=20)
    country = _text("Country (two letters)", max_length=2)
    national_id = _text("National ID", max_length=50)
    emergency_contact_name = _text("Emergency contact")
    emergency_contact_phone = _text(
        "Emergency contact phone", max_length=50, widget=forms.TextInput(attrs={"type": "tel"})
    )
    referral_source = _text("Referred by")
    allergies = _area("Allergies", "Shown as a banner wherever the patient appears.")
    medical_alerts = _area("Medical alerts", "Shown as a banner wherever the patient appears.")
    front_desk_notes = _area("Front-desk notes", "Visible to every member of staff.")
    # Set by the "create anyway" button once the duplicates have been shown.
    create_anyway = forms.BooleanField(required=False, label="Create anyway")

    def __init__(
        self, *args: Any, can_see_clinical: bool, stored: Patient | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stored = stored
        self.can_see_clinical = can_see_clinical
        if not can_see_clinical:
            # Not rendered, not read: a receptionist's edit keeps the stored values.
            for name in CLINICAL_FIELDS:
                del self.fields[name]

    @classmethod
    def initial_of(cls, patient: Patient) -> dict[str, Any]:
        return {name: getattr(patient, name) for name in INPUT_FIELDS}

    def patient_input(self) -> PatientInput:
        """The cleaned data as a PatientInput (fields this viewer cannot see stay as stored)."""
        values: dict[str, Any] = {}
        for name in INPUT_FIELDS:
            if name in self.fields:
                value = self.cleaned_data.get(name)
                values[name] = value if value is not None or name == "date_of_birth" else ""
            elif self.stored is not None:
                values[name] = getattr(self.stored, name)
        birth = values.get("date_of_birth")
        values["date_of_birth"] = birth if isinstance(birth, dt.date) else None
        return PatientInput(**values)


class ConsentOptInForm(forms.Form):
    channel = forms.ChoiceField(label="Channel", choices=Channel.choices)
    method = forms.ChoiceField(
        label="How the patient agreed",
        choices=[("", "Choose…"), *ConsentMethod.choices],
        error_messages={"required": "Say how the patient agreed: in person, a form or a message."},
    )
    note = forms.CharField(label="Note (optional)", required=False, max_length=500)

    def add_service_errors(self, error: ValidationError) -> None:
        for name, messages in getattr(error, "message_dict", {"__all__": error.messages}).items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class ConsentOptOutForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
