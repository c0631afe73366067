"""Forms of the operator console. They parse and bound what was typed; the provisioning
service is the judge of everything else (taken subdomains, time zones, ...)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from provisioning.services import validate_subdomain_form
from shared_apps.clinics.models import Clinic


class OperatorSignInForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


STATUS_CHOICES = [("", "Any status"), *Clinic.Status.choices]


class ClinicSearchForm(forms.Form):
    """The list's query string; anything unparseable simply filters nothing."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def values(self) -> tuple[str, str, int]:
        if not self.is_valid():
            return "", "", 1
        data = self.cleaned_data
        return str(data.get("q") or "").strip(), str(data.get("status") or ""), data["page"] or 1


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ClinicCreateForm(forms.Form):
    name = forms.CharField(label="Clinic name", max_length=200)
    subdomain = forms.CharField(
        label="Address",
        max_length=40,
        help_text="3 to 40 lower case letters, digits or hyphens: <address>.drcrm.cloud",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    clinic_type = forms.ChoiceField(label="Type", choices=Clinic.ClinicType.choices)
    owner_email = forms.EmailField(
        label="Owner's email",
        max_length=254,
        help_text="They get an email inviting them to set a password and sign in.",
    )
    country = forms.CharField(
        label="Country",
        required=False,
        max_length=2,
        help_text="Two-letter code, such as GB. Optional.",
    )
    time_zone = forms.ChoiceField(label="Time zone", initial="UTC", choices=())
    currency = forms.CharField(
        label="Currency", initial="USD", max_length=3, help_text="Three letters, such as EUR."
    )
    plan = forms.ChoiceField(label="Plan", choices=Clinic.Plan.choices, initial="trial")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()  # type: ignore[attr-defined]

    def clean_subdomain(self) -> str:
        value = str(self.cleaned_data["subdomain"]).strip()
        validate_subdomain_form(value)  # "taken" is the service's call, inside its lock
        return value

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).strip().upper()

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()


class StatusChangeForm(forms.Form):
    """The reason for suspending (required) or resuming (optional) a clinic."""

    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the registry and shown to operators.",
    )

    def __init__(self, *args: Any, required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = required
        self.fields["reason"].error_messages["required"] = "Say why the clinic is suspended."


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What will use it, such as 'billing sync'.",
    )
