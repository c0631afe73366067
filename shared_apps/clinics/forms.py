from __future__ import annotations

from django import forms


class ClinicSecurityForm(forms.Form):
    session_idle_minutes = forms.IntegerField(
        label="Sign staff out after this many idle minutes",
        min_value=5,
        max_value=12 * 60,
        help_text="Between 5 and 720 minutes. Sessions also end 12 hours after sign-in.",
    )
    require_two_factor = forms.BooleanField(
        label="Require two-factor sign-in for everyone",
        required=False,
        help_text=(
            "Members without an authenticator app are asked to set one up the next time "
            "they sign in."
        ),
    )
