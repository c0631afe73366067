"""Merge and CSV import pages (kept apart from views.py, which other parts of the app share).

Merge: /patients/<id>/merge/ (patients.merge) and the list of merges /patients/merges/.
Import: /patients/import/ upload -> /patients/import/<token>/ mapping, check, progress.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shared_apps.accounts.access import capability_view
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.patients import selectors
from tenant_apps.patients.imports import (
    FIELD_LABELS,
    RECENT_JOBS_SHOWN,
    import_job_create,
    import_job_map,
    import_job_start,
    import_progress,
    read_rows,
    too_large_message,
)
from tenant_apps.patients.merge import merged_details, patient_merge
from tenant_apps.patients.models import ImportJob, Patient, PatientMerge
from tenant_apps.patients.services import INPUT_FIELDS

# --- merge -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*[Pp]?-?\s*0*(\d{1,9})\s*$")
CANDIDATES_SHOWN = 20
MERGES_SHOWN = 200


def _may_read_clinical(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return bool(membership) and role_can(membership.role, Capability.CLINICAL_VIEW)  # type: ignore[union-attr]


def _candidates(query: str, patient: Patient) -> list[Patient]:
    """Records matching the box: a patient number exactly, else the search helper's search."""
    query = query.strip()[:200].replace("\x00", "")
    if not query:
        return []
    number = _NUMBER.match(query)
    if number:
        found = list(Patient.objects.filter(sequence=int(number.group(1))))
    else:
        found, _ = selectors.patients_search(query=query, limit=CANDIDATES_SHOWN)
    return [p for p in found if p.pk != patient.pk and p.merged_into_id is None]


def _display(request: HttpRequest, patient: Patient, name: str) -> str:
    value = getattr(patient, name)
    if name in ("allergies", "medical_alerts") and value and not _may_read_clinical(request):
        return "recorded (details need clinical access)"
    if name == "sex":
        return str(patient.get_sex_display())
    return "" if value is None else str(value)


def _comparison(request: HttpRequest, left: Patient, right: Patient) -> list[dict[str, Any]]:
    return [
        {
            "label": FIELD_LABELS[name],
            "left": _display(request, left, name),
            "right": _display(request, right, name),
            "differs": getattr(left, name) != getattr(right, name),
        }
        for name in INPUT_FIELDS
    ]


def _other_of(request: HttpRequest, data: Any, patient: Patient) -> Patient | None:
    raw = str(data.get("other", ""))[:30]
    if not raw.strip():
        return None
    other = selectors.get_patient_for(patient_id=raw)
    if other.pk == patient.pk:
        return None
    return other


def _merge_page(
    request: HttpRequest,
    patient: Patient,
    *,
    other: Patient | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    query = str(request.GET.get("q", ""))[:200].replace("\x00", "")
    context: dict[str, Any] = {
        "patient": patient,
        "query": query,
        "candidates": _candidates(query, patient) if other is None else [],
        "other": other,
        "errors": errors or [],
    }
    if other is not None:
        context["comparison"] = _comparison(request, patient, other)
        filled = {
            "this": merged_details(patient, other),  # patient survives, other's details fill
            "other": merged_details(other, patient),
        }
        context["filled"] = {key: [FIELD_LABELS[n] for n in value] for key, value in filled.items()}
    return render(request, "patients/merge.html", context, status=status)


@capability_view(Capability.PATIENTS_MERGE)
@require_http_methods(["GET", "POST"])
def patient_merge_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.get_patient_for(patient_id=patient_id)
    if request.method == "GET":
        return _merge_page(request, patient, other=_other_of(request, request.GET, patient))
    other = _other_of(request, request.POST, patient)
    if other is None:
        return _merge_page(request, patient, errors=["Choose the other record."], status=400)
    keep = request.POST.get("survivor", "")
    if keep not in ("this", "other"):
        return _merge_page(
            request, patient, other=other, errors=["Choose which record stays."], status=400
        )
    survivor, merged = (patient, other) if keep == "this" else (other, patient)
    try:
        merge = patient_merge(actor=request.user, survivor=survivor, merged=merged)  # type: ignore[arg-type]
    except ValidationError as error:
        return _merge_page(request, patient, other=other, errors=error.messages, status=400)
    messages.success(request, f"{merge.merged.number} was merged into {merge.survivor.number}.")
    return redirect("patient-detail", patient_id=merge.survivor.pk)


@capability_view(Capability.PATIENTS_VIEW)
@require_GET
def patient_merges(request: HttpRequest) -> HttpResponse:
    merges = PatientMerge.objects.select_related("survivor", "merged")[:MERGES_SHOWN]
    return render(request, "patients/merges.html", {"merges": merges})


# --- import ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PREVIEW_ROWS = 5


# Room for the multipart framing and the form's other fields (the CSRF token) around the
# file: a body larger than the limit plus this cannot hold a file within the limit.
UPLOAD_FORM_OVERHEAD = 64 * 1024


class UploadSizeLimit(FileUploadHandler):
    """Stops an upload once it is known to be over `limit` bytes, before it reaches the disk.

    Django would otherwise spool the whole body to a temporary file before the view could
    look at its size. First in the request's handlers, it refuses the file as soon as it
    starts (the body's declared length already says too much) or once the bytes received
    pass the limit; the stock handlers after it then never see the rest. The remaining body
    is read and discarded (connection_reset=False), so the browser gets the form's error
    rather than a dropped connection.
    """

    def __init__(self, request: HttpRequest, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_large = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.too_large = content_length > self.limit + UPLOAD_FORM_OVERHEAD

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.too_large:
            raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # the stock handlers keep it

    def file_complete(self, file_size: int) -> None:
        return None  # the stock handlers make the file


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file")

    def __init__(self, *args: Any, too_large: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        if too_large:  # the file was refused unread: "too large", not "missing"
            self.fields["file"].required = False

    def clean_file(self) -> Any:
        if self.too_large:
            raise ValidationError(too_large_message())
        return self.cleaned_data["file"]


def _job_for(token: str) -> ImportJob:
    # The token is checked first: NUL bytes or megabyte strings never reach PostgreSQL.
    job = ImportJob.objects.filter(token=token).first() if _TOKEN.match(token) else None
    if job is None:
        raise Http404("No such import.")
    return job


# The size limit's handler must be in place before anything reads request.POST, and the
# CSRF middleware reads it before the view runs: so the middleware is told to skip this
# view, which installs the handler and then runs the same CSRF check itself (the way
# Django's documentation sets per-view upload handlers).
@capability_view(Capability.PATIENTS_MANAGE)
@require_http_methods(["GET", "POST"])
@csrf_exempt
def patients_import(request: HttpRequest) -> HttpResponse:
    limit = UploadSizeLimit(request, limit=_max_bytes())
    if request.method == "POST":
        request.upload_handlers.insert(0, limit)
    return _patients_import(request, limit)


@csrf_protect
def _patients_import(request: HttpRequest, limit: UploadSizeLimit) -> HttpResponse:
    if request.method == "GET":
        return _upload_page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES, too_large=limit.too_large)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(actor=request.user, filename=upload.name, raw=upload.read())  # type: ignore[arg-type]
        except ValidationError as error:
            for message in error.message_dict.get("file", error.messages):
                form.add_error("file", message)
        else:
            return redirect("patients-import-job", token=job.token)
    return _upload_page(request, form, status=400)


def _upload_page(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    recent = ImportJob.objects.defer("content", "headers", "mapping", "errors", "duplicates")
    context = {"form": form, "recent": recent[:RECENT_JOBS_SHOWN]}
    return render(request, "patients/import.html", context, status=status)


def _max_bytes() -> int:
    from django.conf import settings

    return int(settings.PATIENT_IMPORT_MAX_BYTES)


def _preview(job: ImportJob) -> list[list[str]]:
    rows = []
    try:
        for _, cells in read_rows(job):
            rows.append([cell[:100] for cell in cells[: len(job.headers)]])
            if len(rows) == PREVIEW_ROWS:
                break
    except ValidationError:
        pass  # the check step reports the malformed line
    return rows


def _job_page(
    request: HttpRequest,
    job: ImportJob,
    *,
    mapping: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    mapping = job.mapping if mapping is None else mapping
    context: dict[str, Any] = {
        "job": job,
        "columns": [
            {"index": str(i), "header": header, "field": mapping.get(str(i), "")}
            for i, header in enumerate(job.headers)
        ],
        "fields": list(FIELD_LABELS.items()),
        "preview": _preview(job) if job.status in ("uploaded", "validated") else [],
        "progress": import_progress(job),
        "form_errors": errors or [],
        "encoding_note": job.encoding != "utf-8",
    }
    response = render(request, "patients/import_job.html", context, status=status)
    if job.status == ImportJob.Status.QUEUED:
        response["Refresh"] = "2"  # the progress page reloads itself, no JavaScript needed
    return response


@capability_view(Capability.PATIENTS_MANAGE)
@require_http_methods(["GET", "POST"])
def patients_import_job(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the mapping (and, once checked, the result of the check or the import)."""
    job = _job_for(token)
    if request.method == "GET":
        return _job_page(request, job)
    mapping = {
        str(i): str(request.POST.get(f"column_{i}", ""))
        for i in range(len(job.headers))
        if request.POST.get(f"column_{i}", "")
    }
    try:
        import_job_map(actor=request.user, job=job, mapping=mapping)  # type: ignore[arg-type]
    except ValidationError as error:
        return _job_page(request, job, mapping=mapping, errors=error.messages, status=400)
    return redirect("patients-import-job", token=job.token)


@capability_view(Capability.PATIENTS_MANAGE)
@require_POST
def patients_import_start(request: HttpRequest, token: str) -> HttpResponse:
    job = _job_for(token)
    try:
        job = import_job_start(
            actor=request.user,  # type: ignore[arg-type]
            job=job,
            mode=str(request.POST.get("mode", "")),
            skip_duplicates=request.POST.get("skip_duplicates") == "on",
        )
    except ValidationError as error:
        return _job_page(request, job, errors=error.messages, status=400)
    return redirect("patients-import-job", token=job.token)
