from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        # One message for a wrong password, an unknown email and "not a member here".
        "invalid_login": "That email and password do not match an account of this clinic.",
        "inactive": "That email and password do not match an account of this clinic.",
    }
