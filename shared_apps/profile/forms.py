"""Forms of the profile pages and of getting back in. Errors re-render with status 400."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError

from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sign_in_locked_message
from shared_apps.profile.selectors import email_in_use

MISMATCH = "The two passwords do not match."
NOT_THE_CURRENT_ONE = "That is not your current password."


def _password_field(label: str, autocomplete: str, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,  # spaces are part of a passphrase
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


class EmailForm(forms.Form):
    """One address: "find my clinic" and "forgot my password"."""

    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class _UserForm(forms.Form):
    """A form about one user's own account (validators compare passwords with its name)."""

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user


class NewPasswordForm(_UserForm):
    """A new password, typed twice, checked by the project's password validators."""

    new_password = _password_field(
        "New password", "new-password", help_text=" ".join(password_validators_help_texts())
    )
    new_password_confirm = _password_field("New password again", "new-password")

    def clean_new_password(self) -> str:
        password: str = self.cleaned_data["new_password"]
        validate_password(password, user=self.user)
        return password

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password, confirm = cleaned.get("new_password"), cleaned.get("new_password_confirm")
        if password and confirm is not None and password != confirm:
            self.add_error("new_password_confirm", MISMATCH)
        return cleaned


class ReauthenticationMixin(_UserForm):
    """The current password, asked again before anything that could take the account over.

    Wrong answers count towards the same lock as failed sign-ins at this clinic (the view
    records them: `password_failed`), so these forms are no way around that lock.
    """

    current_password = _password_field("Current password", "current-password")

    def __init__(
        self, *args: Any, user: User, locked_until: datetime | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.locked_until = locked_until
        self.password_failed = False

    def clean_current_password(self) -> str:
        password: str = self.cleaned_data["current_password"]
        if self.locked_until is not None:
            raise ValidationError(sign_in_locked_message(self.locked_until), code="locked")
        if not self.user.check_password(password):
            self.password_failed = True
            raise ValidationError(NOT_THE_CURRENT_ONE, code="wrong_password")
        return password


class NameForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )


class EmailChangeForm(ReauthenticationMixin):
    new_email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["new_email", "current_password"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new_email = cleaned.get("new_email")
        # Only someone who typed the right password learns whether an address is taken.
        if new_email and "current_password" in cleaned:
            if new_email.strip().lower() == self.user.email.lower():
                self.add_error("new_email", "That is already your email address.")
            elif email_in_use(email=new_email, exclude_user_id=self.user.pk):
                self.add_error("new_email", "Another account already uses this address.")
        return cleaned


class PasswordChangeForm(ReauthenticationMixin, NewPasswordForm):
    field_order = ["current_password", "new_password", "new_password_confirm"]
