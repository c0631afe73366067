"""Reads of patient records that views and the API share."""

from __future__ import annotations

from django.http import Http404

from tenant_apps.patients.models import Patient


def get_patient_for(*, patient_id: object) -> Patient:
    """The patient with this id in the current clinic, or Http404.

    The same 404 for "no such id", "not a number" and (since every clinic has its own
    schema) "another clinic's patient".
    """
    try:
        pk = int(str(patient_id))
    except ValueError:
        raise Http404("No such patient.") from None
    if not 0 < pk < 2**63:
        raise Http404("No such patient.")
    patient = Patient.objects.filter(pk=pk).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient
