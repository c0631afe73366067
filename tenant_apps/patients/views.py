"""Patient pages: parse input, call one selector or service, render."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from drcrm.validation import form_errors_add
from shared_apps.accounts.access import capability_view
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.patients.forms import ConsentOptInForm, ConsentOptOutForm, PatientForm
from tenant_apps.patients.models import Channel, Patient
from tenant_apps.patients.selectors import (
    consent_history,
    consent_overview,
    duplicates_of,
    get_patient_for,
    patients_matching,
    patients_search,
    search_query_clean,
)
from tenant_apps.patients.services import (
    consent_record,
    patient_archive,
    patient_create,
    patient_input_check,
    patient_restore,
    patient_update,
    patient_view_record,
    patients_export_record,
)
from tenant_apps.scheduling.calendar_data import patient_appointments

# --- list, search and export (search helper) -----------------------------------------------

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 100_000
# The columns of the CSV export: demographics and contact details, never clinical text.
EXPORT_COLUMNS = (
    ("number", "number"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("preferred_name", "preferred_name"),
    ("date_of_birth", "date_of_birth"),
    ("sex", "sex"),
    ("phone", "phone"),
    ("phone_alt", "phone_alt"),
    ("email", "email"),
    ("address_line1", "address_line1"),
    ("address_line2", "address_line2"),
    ("city", "city"),
    ("postcode", "postcode"),
    ("country", "country"),
    ("archived", "is_archived"),
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ListParams:
    query: str
    include_archived: bool
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def querystring(self, **changes: object) -> str:
        values: dict[str, object] = {
            "q": self.query,
            "archived": "1" if self.include_archived else "",
            "per_page": "" if self.per_page == DEFAULT_PAGE_SIZE else self.per_page,
            "page": "" if self.page == 1 else self.page,
        }
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value not in ("", None)})


# One results row. Built with format_html (every value escaped) rather than template tags:
# as-you-type answers up to 100 rows per keystroke, and the template engine spent more
# time on them than the database did (bench/bench_patient_search.py).
_ROW = (
    '<tr data-testid="patient-row-{pk}"{archived_class}>'
    '<td class="staff-nowrap"><a href="{url}">{number}</a></td>'
    '<td><a href="{url}">{last_name}, {first_name}</a>{preferred}{archived}</td>'
    '<td class="staff-nowrap">{birth}</td>'
    '<td class="staff-nowrap">{phone}</td>'
    "<td>{alert}</td></tr>"
)
# What `_row_html` reads: the list asks for nothing else (as-you-type pays per column).
ROW_COLUMNS = (
    "number",
    "first_name",
    "last_name",
    "preferred_name",
    "is_archived",
    "date_of_birth",
    "phone",
    "allergies",  # these two only for has_alerts
    "medical_alerts",
)
# Only that alerts exist: their text is clinical and belongs on the patient page.
_ALERT_ICON = (
    '<span class="patient-alert" role="img" aria-label="Has alerts" '
    'title="Has alerts: open the record" data-testid="alert-icon">⚠</span>'
)


def _birth(date: dt.date | None) -> str:
    return f"{date.day} {date:%b %Y}" if date else "—"


def _row_html(patient: Patient, *, url_prefix: str) -> SafeString:
    preferred = patient.preferred_name
    return format_html(
        _ROW,
        pk=patient.pk,
        url=f"{url_prefix}{patient.pk}/",
        archived_class=mark_safe(' class="staff-inactive"') if patient.is_archived else "",
        number=patient.number,
        last_name=patient.last_name,
        first_name=patient.first_name,
        preferred=format_html(' <span class="muted">({})</span>', preferred)
        if preferred and preferred != patient.first_name
        else "",
        archived=mark_safe(' <span class="muted">· archived</span>') if patient.is_archived else "",
        birth=_birth(patient.date_of_birth),
        phone=patient.phone or "—",
        alert=mark_safe(_ALERT_ICON) if patient.has_alerts else "",  # noqa: S308
    )


def _positive_int(raw: str | None, *, default: int, maximum: int) -> int:
    try:
        value = int(raw or "")
    except ValueError:
        return default
    return min(value, maximum) if value > 0 else default


def _list_params(request: HttpRequest) -> ListParams:
    per_page = _positive_int(request.GET.get("per_page"), default=DEFAULT_PAGE_SIZE, maximum=100)
    return ListParams(
        query=search_query_clean(request.GET.get("q", "")),
        include_archived=request.GET.get("archived") == "1",
        page=_positive_int(request.GET.get("page"), default=1, maximum=MAX_PAGE),
        per_page=per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE,
    )


def _role_can(request: HttpRequest, capability: Capability) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_can(membership.role, capability)


@capability_view(Capability.PATIENTS_VIEW)
@require_GET
def patients(request: HttpRequest) -> HttpResponse:
    """The list and search page; `?fragment=1` answers only the results (as-you-type)."""
    params = _list_params(request)
    # The patient page's URL differs from /patients/<id>/ only in the id.
    url_prefix = reverse("patient-detail", args=[1]).removesuffix("1/")
    found, total = patients_search(
        query=params.query,
        include_archived=params.include_archived,
        limit=params.per_page,
        offset=params.offset,
        columns=ROW_COLUMNS,
    )
    pages = max(1, -(-total // params.per_page))
    can_manage = _role_can(request, Capability.PATIENTS_MANAGE)
    context = {
        "params": params,
        "rows": [_row_html(p, url_prefix=url_prefix) for p in found],
        "total": total,
        "pages": pages,
        "previous_query": params.querystring(page=params.page - 1) if params.page > 1 else None,
        "next_query": params.querystring(page=params.page + 1) if params.page < pages else None,
        "export_query": params.querystring(page="", per_page=""),
        "page_sizes": PAGE_SIZES,
        "can_export": can_manage,
        "can_create": can_manage,
    }
    fragment = request.GET.get("fragment") == "1"
    template = "patients/list_results.html" if fragment else "patients/list.html"
    return render(request, template, context)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write returns the line: csv.writer feeds the stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Iterable[Patient]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([title for title, _ in EXPORT_COLUMNS])  # BOM: Excel
    for patient in rows:
        yield writer.writerow([_csv_cell(getattr(patient, name)) for _, name in EXPORT_COLUMNS])


@capability_view(Capability.PATIENTS_MANAGE)
@require_GET
def patients_export(request: HttpRequest) -> StreamingHttpResponse:
    """The (filtered) list as CSV, streamed; bulk copies of the register are audited."""
    params = _list_params(request)
    rows = patients_matching(query=params.query, include_archived=params.include_archived)
    count = rows.order_by().values("pk").count()
    patients_export_record(
        actor=request.user,  # type: ignore[arg-type]
        count=count,
        filtered=bool(params.query),
        include_archived=params.include_archived,
    )
    clinic = request.tenant  # type: ignore[attr-defined]
    filename = f"patients-{clinic.subdomain}-{timezone.localdate().isoformat()}.csv"
    response = StreamingHttpResponse(
        _csv_lines(rows.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- the patient page, create, edit, archive, consent (record helper) ----------------------


def _can_see_clinical(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_can(membership.role, Capability.CLINICAL_VIEW)


def _age_of(birth: dt.date | None) -> int | None:
    if birth is None:
        return None
    today = timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _patient_page(
    request: HttpRequest,
    patient: Patient,
    *,
    opt_in_form: ConsentOptInForm | None = None,
    action_error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "patient": patient,
        "age": _age_of(patient.date_of_birth),
        "consents": consent_overview(patient=patient),
        "consent_history": consent_history(patient=patient),
        "opt_in_form": opt_in_form or ConsentOptInForm(),
        "action_error": action_error,
        # Upcoming and past appointments, for those who may see the calendar.
        "appointments": patient_appointments(patient_id=patient.pk, now=timezone.now())
        if _role_can(request, Capability.CALENDAR_VIEW)
        else None,
    }
    return render(request, "patients/detail.html", context, status=status)


def _form_page(
    request: HttpRequest,
    form: PatientForm,
    *,
    patient: Patient | None = None,
    duplicates: list[Patient] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "patient": patient, "duplicates": duplicates or []}
    return render(request, "patients/form.html", context, status=status)


@capability_view(Capability.PATIENTS_MANAGE)
@require_http_methods(["GET", "POST"])
def patient_new(request: HttpRequest) -> HttpResponse:
    can_see_clinical = _can_see_clinical(request)
    if request.method != "POST":
        return _form_page(request, PatientForm(can_see_clinical=can_see_clinical))
    form = PatientForm(request.POST, can_see_clinical=can_see_clinical)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.patient_input()
    try:
        # Typing mistakes first; only valid input is compared with the records on file.
        patient_input_check(data=data)
        duplicates = duplicates_of(data=data)
        if duplicates and not form.cleaned_data["create_anyway"]:
            return _form_page(request, form, duplicates=duplicates)
        patient = patient_create(actor=request.user, data=data)  # type: ignore[arg-type]
    except ValidationError as error:
        form_errors_add(form, error)
        return _form_page(request, form, status=400)
    messages.success(request, f"{patient.number} created.")
    return redirect("patient-detail", patient_id=patient.pk)


@capability_view(Capability.PATIENTS_VIEW)
@require_GET
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for(patient_id=patient_id)
    patient_view_record(actor=request.user, patient=patient)  # type: ignore[arg-type]
    return _patient_page(request, patient)


@capability_view(Capability.PATIENTS_MANAGE)
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for(patient_id=patient_id)
    can_see_clinical = _can_see_clinical(request)
    if request.method != "POST":
        form = PatientForm(
            initial=PatientForm.initial_of(patient), can_see_clinical=can_see_clinical
        )
        return _form_page(request, form, patient=patient)
    form = PatientForm(request.POST, can_see_clinical=can_see_clinical, stored=patient)
    if not form.is_valid():
        return _form_page(request, form, patient=patient, status=400)
    try:
        patient_update(actor=request.user, patient=patient, data=form.patient_input())  # type: ignore[arg-type]
    except ValidationError as error:
        form_errors_add(form, error)
        return _form_page(request, form, patient=patient, status=400)
    messages.success(request, "Changes saved.")
    return redirect("patient-detail", patient_id=patient.pk)


@capability_view(Capability.PATIENTS_MANAGE)
@require_POST
def patient_archive_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for(patient_id=patient_id)
    if request.POST.get("confirm") != "yes":
        error = "Tick the box to confirm archiving this record."
        return _patient_page(request, patient, action_error=error, status=400)
    patient_archive(actor=request.user, patient=patient)  # type: ignore[arg-type]
    messages.success(request, f"{patient.number} archived.")
    return redirect("patient-detail", patient_id=patient.pk)


@capability_view(Capability.PATIENTS_MANAGE)
@require_POST
def patient_restore_view(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for(patient_id=patient_id)
    try:
        patient_restore(actor=request.user, patient=patient)  # type: ignore[arg-type]
    except ValidationError as error:
        return _patient_page(request, patient, action_error=" ".join(error.messages), status=400)
    messages.success(request, f"{patient.number} restored.")
    return redirect("patient-detail", patient_id=patient.pk)


@capability_view(Capability.PATIENTS_MANAGE)
@require_POST
def patient_consent_opt_in(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = get_patient_for(patient_id=patient_id)
    form = ConsentOptInForm(request.POST)
    if not form.is_valid():
        return _patient_page(request, patient, opt_in_form=form, status=400)
    channel = form.cleaned_data["channel"]
    try:
        consent_record(
            actor=request.user,  # type: ignore[arg-type]
            patient=patient,
            channel=channel,
            opted_in=True,
            method=form.cleaned_data["method"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        form_errors_add(form, error)
        return _patient_page(request, patient, opt_in_form=form, status=400)
    messages.success(request, f"{Channel(channel).label} opt-in recorded.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#consent")


@capability_view(Capability.PATIENTS_MANAGE)
@require_POST
def patient_consent_opt_out(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One click, no questions: a patient's "no" is recorded as soon as it is heard."""
    patient = get_patient_for(patient_id=patient_id)
    form = ConsentOptOutForm(request.POST)
    if not form.is_valid():
        error = "Choose WhatsApp, SMS or email."
        return _patient_page(request, patient, action_error=error, status=400)
    channel = form.cleaned_data["channel"]
    consent_record(actor=request.user, patient=patient, channel=channel, opted_in=False)  # type: ignore[arg-type]
    messages.success(request, f"{Channel(channel).label} opt-out recorded.")
    return redirect(reverse("patient-detail", args=[patient.pk]) + "#consent")
