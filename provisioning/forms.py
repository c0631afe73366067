"""The signup forms. Errors re-render with status 400; the password is never echoed back."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)

from provisioning.countries import BY_CODE, COUNTRIES
from provisioning.signup import SignupDetails
from provisioning.signup_selectors import (
    pending_signup_of,
    pending_signups_count,
    subdomain_problem,
)
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic

CURRENCY_RE = re.compile(r"[A-Z]{3}")
# Each pending signup holds an address for a day: one mailbox cannot hold a street of them.
MAX_PENDING_PER_EMAIL = 3
TOO_MANY_PENDING = (
    "This address already has signups waiting for confirmation. Open the link we sent, "
    "or wait a day for it to expire."
)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Region/City zones (and UTC): the legacy aliases (EST, Factory, ...) left out."""
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and "Etc/" not in z)
    return [("", "The country's main time zone"), ("UTC", "UTC")] + [(z, z) for z in zones]


def country_choices() -> list[tuple[str, str]]:
    return [("", "Choose a country")] + [(c.code, c.name) for c in COUNTRIES]


def country_defaults() -> dict[str, list[str]]:
    """{code: [time zone, currency]}: the page's script fills the two fields from it."""
    return {c.code: [c.time_zone, c.currency] for c in COUNTRIES}


class SubdomainField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label="Your clinic's address",
            # No max_length: validate_subdomain_form says what is wrong with a long one.
            widget=forms.TextInput(
                attrs={
                    "autocomplete": "off",
                    "autocapitalize": "none",
                    "spellcheck": "false",
                    "maxlength": "63",
                    "data-subdomain-input": "",
                }
            ),
            help_text=f"3 to 40 letters, digits or hyphens: <address>.{settings.BASE_DOMAIN}",
            **kwargs,
        )


class SignupForm(forms.Form):
    clinic_name = forms.CharField(
        label="Clinic name",
        max_length=200,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "organization"}),
    )
    subdomain = SubdomainField()
    clinic_type = forms.ChoiceField(
        label="Type of clinic", choices=Clinic.ClinicType.choices, widget=forms.RadioSelect
    )
    owner_name = forms.CharField(
        label="Your full name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Your work email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Choose a password",
        strip=False,  # spaces are part of a passphrase
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),  # never rendered back
        help_text=" ".join(password_validators_help_texts()),
    )
    country = forms.ChoiceField(label="Country", choices=country_choices)
    time_zone = forms.ChoiceField(label="Time zone", choices=time_zone_choices, required=False)
    currency = forms.CharField(
        label="Currency",
        max_length=3,
        required=False,
        help_text="Three letters, such as EUR; filled in from the country if left empty.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"].strip().upper()
        if currency and not CURRENCY_RE.fullmatch(currency):
            raise forms.ValidationError("Use a three-letter currency code such as EUR.")
        return currency

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._defaults_from_country(cleaned)
        email, subdomain = cleaned.get("email", ""), cleaned.get("subdomain")
        if subdomain is not None:
            problem = subdomain_problem(subdomain, owner_email=email)
            if problem is not None:
                self.add_error("subdomain", problem)
            elif email and self._one_too_many(email, subdomain):
                self.add_error("email", TOO_MANY_PENDING)
        password = cleaned.get("password")
        if password:
            # Compared with the name and address they typed, as for any account.
            someone = User(email=email, full_name=cleaned.get("owner_name", ""))
            try:
                validate_password(password, user=someone)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned

    @staticmethod
    def _one_too_many(email: str, subdomain: str) -> bool:
        """A new address for someone already holding the most (re-sending is always fine)."""
        if pending_signup_of(owner_email=email, subdomain=subdomain) is not None:
            return False
        return pending_signups_count(owner_email=email) >= MAX_PENDING_PER_EMAIL

    def _defaults_from_country(self, cleaned: dict[str, Any]) -> None:
        country = BY_CODE.get(cleaned.get("country") or "")
        if country is None and "country" in self.errors:
            return  # "choose a country" says it all
        if not cleaned.get("time_zone"):
            if country is None:
                if "time_zone" not in self.errors:
                    self.add_error("time_zone", "Choose a time zone.")
            else:
                cleaned["time_zone"] = country.time_zone
        if not cleaned.get("currency") and "currency" not in self.errors:
            if country is None:
                self.add_error("currency", "Use a three-letter currency code such as EUR.")
            else:
                cleaned["currency"] = country.currency

    def details(self) -> SignupDetails:
        data = self.cleaned_data
        return SignupDetails(
            clinic_name=data["clinic_name"],
            subdomain=data["subdomain"],
            clinic_type=data["clinic_type"],
            country=data["country"],
            time_zone=data["time_zone"],
            currency=data["currency"],
            owner_name=data["owner_name"],
            owner_email=data["email"],
            password=data["password"],
        )


class SubdomainForm(forms.Form):
    """Another address, after a failed creation or for an expired link."""

    subdomain = SubdomainField()

    def __init__(self, *args: Any, signup_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signup_id = signup_id

    def clean_subdomain(self) -> str:
        subdomain: str = self.cleaned_data["subdomain"]
        problem = subdomain_problem(subdomain, exclude_signup_id=self.signup_id)
        if problem is not None:
            raise forms.ValidationError(problem)
        return subdomain
