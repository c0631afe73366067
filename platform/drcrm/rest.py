"""REST plumbing every app's `api.py` shares: one error format and pagination.

Kept free of drf-spectacular imports: DRF imports these classes while it initialises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from drcrm.errors import error_body


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as one flat map: {"address.city": ["..."]}."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten_fields(value, name))
        return fields
    if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
        fields = {}
        for index, item in enumerate(detail):
            fields.update(_flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
        return fields
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


def field_map_error(
    error: DjangoValidationError, names: Mapping[str, str] | None = None
) -> exceptions.ValidationError:
    """A service's ValidationError as the API's 400 field map (`names` renames a service's
    fields to the API's where they differ)."""
    fields = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    names = names or {}
    return exceptions.ValidationError(
        {
            (
                "non_field_errors" if name in ("", NON_FIELD_ERRORS) else names.get(name, name)
            ): messages
            for name, messages in fields.items()
        }
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error as {"error": {"code", "message", "fields"}}."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer with the 500 page
    if not isinstance(exc, exceptions.APIException):  # Django's PermissionDenied and the like
        exc = (
            exceptions.PermissionDenied()
            if response.status_code == 403
            else exceptions.APIException()
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        body = error_body("invalid", "Some fields are not valid.", fields)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_body(str(code), str(exc.detail))
    response.data = body
    return response
