"""One way to fetch a clinic row by an id from a URL, a form or a query string."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import Http404

from drcrm.validation import whole_number

ModelT = TypeVar("ModelT", bound=models.Model)


def get_or_404(queryset: models.QuerySet[ModelT], object_id: object, label: str) -> ModelT:
    """The row with this id, or one and the same Http404 for "not a number", "past bigint"
    (a database error otherwise), "no such row" and, since every clinic has its own
    schema, "another clinic's row"."""
    pk = whole_number(object_id, low=1)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise Http404(f"No such {label}.")
    return found
