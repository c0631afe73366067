from __future__ import annotations

from django import forms

from tenant_apps.api_tokens.services import NAME_MAX_LENGTH


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=NAME_MAX_LENGTH,
        help_text="What the token is for, e.g. “Lab results import”. You can revoke it any time.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
