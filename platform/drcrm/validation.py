"""A service's ValidationError (a field map, or plain messages) shown where it is needed:
on a form, or as one line for a command's stderr. The API's form is `rest.field_map_error`."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


def form_errors_add(
    form: forms.Form, error: ValidationError, names: Mapping[str, str | None] | None = None
) -> None:
    """Put the errors on the form's fields; names the form lacks become form errors.

    `names` maps a service's field names to the form's where they differ (None: a form
    error), e.g. a service's `starts_at` shown on the form's `time`.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    names = names or {}
    for name, messages in error.message_dict.items():
        target = names.get(name, name)
        form.add_error(target if target in form.fields else None, messages)


def error_one_line(error: ValidationError, names: Mapping[str, str] | None = None) -> str:
    """ "subdomain: This address is already taken.; name: ..." (`names` renames fields)."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    names = names or {}
    return "; ".join(
        f"{names.get(name, name)}: {' '.join(messages)}"
        for name, messages in error.message_dict.items()
    )


_MAX_BIGINT = 2**63 - 1


def whole_number(raw: object, *, low: int = 0, high: int = _MAX_BIGINT) -> int | None:
    """`raw` as an int in [low, high] if it is plain ASCII digits, else None.

    Not `str.isdigit()`: that accepts "²" and "٣", which `int()` then refuses (a 500), and
    a 30-digit id would overflow PostgreSQL's bigint.
    """
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if low <= value <= high else None
