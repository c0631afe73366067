from __future__ import annotations

import re
from typing import Any

from django import forms

from shared_apps.accounts.models import User
from shared_apps.two_factor import totp
from shared_apps.two_factor.services import RECOVERY_ALPHABET, normalise_recovery_code

CODE_HELP = f"The {totp.DIGITS}-digit code your authenticator app shows now."
_RECOVERY_CODE = re.compile(f"[{RECOVERY_ALPHABET}]{{8}}")


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=20,
        help_text=CODE_HELP,
        error_messages={"required": f"Enter the {totp.DIGITS}-digit code from your app."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
                "class": "otp",
            }
        ),
    )

    def clean_code(self) -> str:
        # Apps show "123 456": spaces are forgiven, anything else is not a code.
        code = "".join(str(self.cleaned_data["code"]).split())
        if not totp.is_well_formed(code):
            raise forms.ValidationError(
                f"A code is {totp.DIGITS} digits, like 123456.", code="malformed"
            )
        return code


class RecoveryCodeForm(forms.Form):
    recovery_code = forms.CharField(
        label="Recovery code",
        max_length=40,
        help_text="One of the codes you saved when you set up two-factor sign-in.",
        error_messages={"required": "Enter one of your recovery codes."},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )

    def clean_recovery_code(self) -> str:
        code = normalise_recovery_code(str(self.cleaned_data["recovery_code"]))
        if not _RECOVERY_CODE.fullmatch(code):
            raise forms.ValidationError(
                "A recovery code has 8 letters and digits, like abcd-2345.", code="malformed"
            )
        return code


class PasswordConfirmForm(forms.Form):
    """Re-authentication before a change to the second factor (ASVS 7.5.1)."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        error_messages={"required": "Enter your password to confirm it is you."},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = str(self.cleaned_data["password"])
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.", code="wrong_password")
        return password
