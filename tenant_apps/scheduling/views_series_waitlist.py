"""Recurring series and waitlist pages under /calendar/.

- /calendar/series/new/?appointment=<id>: "Repeat" a booked appointment. The plan and every
  conflict are shown first (nothing saved); then book all, or only the free ones.
- /calendar/appointments/<id>/series/: move or cancel this one, this and the following, or
  all of its series; a conflict anywhere changes nothing and lists the occurrences.
- /calendar/waitlist/: who is waiting (add, edit, remove); /calendar/waitlist/offers/:
  freed slots offered to them, with "Book this slot" and "Dismiss".
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from drcrm.validation import form_errors_add
from shared_apps.accounts.access import capability_view
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.patients.models import Patient
from tenant_apps.patients.selectors import get_patient_for, patients_search
from tenant_apps.scheduling.clock import clinic_zone, local_datetime
from tenant_apps.scheduling.models import (
    Appointment,
    AppointmentType,
    Practitioner,
    WaitlistEntry,
    WorkingPeriod,
)
from tenant_apps.scheduling.selectors import appointments_with_related, get_appointment_for
from tenant_apps.scheduling.series import (
    CHANGEABLE,
    MAX_COUNT,
    MAX_INTERVAL_WEEKS,
    MIN_COUNT,
    OccurrenceProblem,
    RecurrenceRule,
    SeriesConflicts,
    series_appointments,
    series_cancel,
    series_preview,
    series_repeat,
    series_reschedule,
)
from tenant_apps.scheduling.services import AppointmentConflict, BookingRequest
from tenant_apps.scheduling.waitlist import (
    WaitlistEntryInput,
    get_waitlist_entry_for,
    get_waitlist_offer_for,
    open_waitlist_offers,
    waitlist_entries,
    waitlist_entry_add,
    waitlist_entry_remove,
    waitlist_entry_update,
    waitlist_offer_accept,
    waitlist_offer_dismiss,
)

MANAGE = Capability.CALENDAR_MANAGE
VIEW = Capability.CALENDAR_VIEW
TIME_WIDGET = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SCOPE_CHOICES = [
    ("this", "Only this appointment"),
    ("following", "This and the following ones"),
    ("all", "All appointments of the series"),
]
PATIENT_MATCHES_SHOWN = 10
OFFERS_SHOWN = 100


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _may(request: HttpRequest, capability: Capability) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_can(membership.role, capability)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _problem_rows(problems: list[OccurrenceProblem]) -> list[dict[str, Any]]:
    return [
        {
            "position": problem.position,
            "starts_at": problem.starts_at,
            "kind": problem.kind,
            "message": problem.message,
        }
        for problem in problems
    ]


# --- repeat: book a series from an appointment --------------------------------------------------


class RepeatForm(forms.Form):
    interval_weeks = forms.IntegerField(
        label="Repeat every (weeks)",
        initial=1,
        min_value=1,
        max_value=MAX_INTERVAL_WEEKS,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_INTERVAL_WEEKS}),
    )
    ends = forms.ChoiceField(
        label="Ends",
        choices=[("count", "After a number of times"), ("until", "On a date")],
        initial="count",
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(
        label="Number of appointments (including this one)",
        required=False,
        initial=6,
        min_value=MIN_COUNT,
        max_value=MAX_COUNT,
    )
    until = forms.DateField(label="Last date", required=False, widget=DATE_WIDGET)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("ends") == "count" and data.get("count") is None and "count" not in self.errors:
            self.add_error("count", "Say how many times.")
        if data.get("ends") == "until" and data.get("until") is None and "until" not in self.errors:
            self.add_error("until", "Choose the last date.")
        return data

    def rule(self) -> RecurrenceRule:
        data = self.cleaned_data
        by_count = data["ends"] == "count"
        return RecurrenceRule(
            interval_weeks=data["interval_weeks"],
            count=data["count"] if by_count else None,
            until=None if by_count else data["until"],
        )


def _repeat_booking(appointment: Appointment) -> BookingRequest:
    return BookingRequest(
        patient=appointment.patient,
        practitioner=appointment.practitioner,
        appointment_type=appointment.appointment_type,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        allow_outside_hours=appointment.outside_hours,
    )


def _repeat_page(
    request: HttpRequest,
    appointment: Appointment,
    form: RepeatForm,
    *,
    plan: list[dict[str, Any]] | None = None,
    problems: list[OccurrenceProblem] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "appointment": appointment,
        "form": form,
        "plan": plan,
        "problems": _problem_rows(problems or []),
        "bookable": sum(1 for row in plan or [] if not row["problem"]),
    }
    return render(request, "scheduling/series_new.html", context, status=status)


def _plan_rows(
    appointment: Appointment, rule: RecurrenceRule, actor: User
) -> tuple[list[dict[str, Any]], list[OccurrenceProblem]]:
    occurrences, problems = series_preview(
        actor=actor, booking=_repeat_booking(appointment), rule=rule, existing=appointment
    )
    by_position = {problem.position: problem for problem in problems}
    rows = [
        {
            "position": o.position,
            "starts_at": o.starts_at,
            "ends_at": o.ends_at,
            "problem": by_position.get(o.position),
            "existing": o.position == 1,
        }
        for o in occurrences
    ]
    return rows, problems


@capability_view(MANAGE)
@require_http_methods(["GET", "POST"])
def series_new(request: HttpRequest) -> HttpResponse:
    """Repeat an appointment: preview every occurrence and conflict, then confirm."""
    appointment = get_appointment_for(appointment_id=request.GET.get("appointment", ""))
    if appointment.series_id is not None:
        messages.info(request, "This appointment is already part of a series.")
        return redirect("calendar-appointment-series", appointment_id=appointment.pk)
    if request.method == "GET":
        return _repeat_page(request, appointment, RepeatForm())
    form = RepeatForm(request.POST)
    if not form.is_valid():
        return _repeat_page(request, appointment, form, status=400)
    try:
        if request.POST.get("action") != "book":
            plan, problems = _plan_rows(appointment, form.rule(), _actor(request))
            return _repeat_page(request, appointment, form, plan=plan, problems=problems)
        booked = series_repeat(
            actor=_actor(request),
            appointment=appointment,
            rule=form.rule(),
            skip_conflicts=request.POST.get("skip_conflicts") == "1",
        )
    except SeriesConflicts:
        # Someone booked into the series' time since the preview: show the new plan.
        plan, problems = _plan_rows(appointment, form.rule(), _actor(request))
        return _repeat_page(request, appointment, form, plan=plan, problems=problems, status=409)
    except ValidationError as error:
        form_errors_add(form, error)
        return _repeat_page(request, appointment, form, status=400)
    skipped = f"; {len(booked.skipped)} skipped" if booked.skipped else ""
    messages.success(request, f"Series booked: {len(booked.appointments)} appointments{skipped}.")
    return redirect("calendar-appointment-series", appointment_id=appointment.pk)


# --- a series: move or cancel by scope ------------------------------------------------------------


class SeriesMoveForm(forms.Form):
    scope = forms.ChoiceField(
        label="Which appointments", choices=SCOPE_CHOICES, initial="this", widget=forms.RadioSelect
    )
    date = forms.DateField(label="New date (of this one)", widget=DATE_WIDGET)
    time = forms.TimeField(label="New time", widget=TIME_WIDGET)
    allow_outside_hours = forms.BooleanField(
        label="Allow times outside working hours", required=False
    )

    def starts_at(self) -> dt.datetime:
        return local_datetime(
            self.cleaned_data["date"], self.cleaned_data["time"], zone=clinic_zone(), field="time"
        )


class SeriesCancelForm(forms.Form):
    scope = forms.ChoiceField(
        label="Which appointments", choices=SCOPE_CHOICES, initial="this", widget=forms.RadioSelect
    )
    reason = forms.CharField(label="Reason", max_length=200)


def _scoped(form: forms.Form, series: bool) -> forms.Form:
    if not series:  # a single appointment: "this" is the only scope there is
        scope = cast(forms.ChoiceField, form.fields["scope"])
        scope.choices = SCOPE_CHOICES[:1]
    return form


def _series_page(
    request: HttpRequest,
    appointment: Appointment,
    *,
    move_form: forms.Form | None = None,
    cancel_form: forms.Form | None = None,
    problems: list[OccurrenceProblem] | None = None,
    status: int = 200,
) -> HttpResponse:
    in_series = appointment.series_id is not None
    local = appointment.starts_at.astimezone(clinic_zone())
    context = {
        "appointment": appointment,
        "occurrences": series_appointments(series=appointment.series) if appointment.series else [],
        "move_form": move_form
        or _scoped(SeriesMoveForm(initial={"date": local.date(), "time": local.time()}), in_series),
        "cancel_form": cancel_form or _scoped(SeriesCancelForm(), in_series),
        "problems": _problem_rows(problems or []),
        "can_override": _may(request, Capability.CALENDAR_OVERRIDE),
        "changeable": appointment.status in CHANGEABLE,
    }
    return render(request, "scheduling/series_change.html", context, status=status)


def _rename_time(error: ValidationError) -> ValidationError:
    """The services call the start `starts_at`; this form asks for a date and a time."""
    if not hasattr(error, "error_dict"):
        return error
    return ValidationError(
        {
            ("time" if name == "starts_at" else name): messages
            for name, messages in error.message_dict.items()
        }
    )


@capability_view(MANAGE)
@require_http_methods(["GET", "POST"])
def appointment_series(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Move or cancel this appointment, this and the following, or its whole series."""
    appointment = get_appointment_for(appointment_id=appointment_id)
    if request.method == "GET":
        return _series_page(request, appointment)
    in_series = appointment.series_id is not None
    if request.POST.get("action") == "cancel":
        return _series_cancel(
            request, appointment, _scoped(SeriesCancelForm(request.POST), in_series)
        )
    return _series_move(request, appointment, _scoped(SeriesMoveForm(request.POST), in_series))


def _series_move(request: HttpRequest, appointment: Appointment, form: forms.Form) -> HttpResponse:
    move = cast(SeriesMoveForm, form)
    if move.is_valid():
        try:
            moved = series_reschedule(
                actor=_actor(request),
                appointment=appointment,
                scope=move.cleaned_data["scope"],
                starts_at=move.starts_at(),
                allow_outside_hours=move.cleaned_data["allow_outside_hours"],
            )
        except SeriesConflicts as refusal:
            return _series_page(
                request, appointment, move_form=move, problems=refusal.problems, status=409
            )
        except ValidationError as error:
            form_errors_add(move, _rename_time(error))
        else:
            noun = "appointment" if len(moved) == 1 else "appointments"
            messages.success(request, f"{len(moved)} {noun} moved.")
            return redirect("calendar-appointment", appointment_id=appointment.pk)
    return _series_page(request, appointment, move_form=move, status=400)


def _series_cancel(
    request: HttpRequest, appointment: Appointment, form: forms.Form
) -> HttpResponse:
    if form.is_valid():
        try:
            cancelled = series_cancel(
                actor=_actor(request),
                appointment=appointment,
                scope=form.cleaned_data["scope"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            noun = "appointment" if len(cancelled) == 1 else "appointments"
            messages.success(request, f"{len(cancelled)} {noun} cancelled.")
            return redirect("calendar-appointment", appointment_id=appointment.pk)
    return _series_page(request, appointment, cancel_form=form, status=400)


# --- the waitlist ------------------------------------------------------------------------------


class WaitlistEntryForm(forms.Form):
    practitioner = forms.ModelChoiceField(
        label="Practitioner",
        queryset=Practitioner.objects.filter(is_active=True),
        required=False,
        empty_label="Anyone",
    )
    appointment_type = forms.ModelChoiceField(
        label="Appointment type",
        queryset=AppointmentType.objects.filter(is_active=True),
        required=False,
        empty_label="Any",
    )
    preferred_weekdays = forms.TypedMultipleChoiceField(
        label="Days they can come (none ticked: any)",
        choices=WorkingPeriod.Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    preferred_from = forms.TimeField(label="From", required=False, widget=TIME_WIDGET)
    preferred_until = forms.TimeField(label="Until", required=False, widget=TIME_WIDGET)
    current_appointment = forms.TypedChoiceField(
        label="Their current appointment (offers must be earlier)",
        coerce=int,
        required=False,
        empty_value=None,
    )
    note = forms.CharField(label="Note", required=False, max_length=200)

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        upcoming = (
            appointments_with_related()
            .filter(patient=patient, status__in=CHANGEABLE, during__startswith__gt=timezone.now())
            .order_by("during")[:20]
        )
        self.appointments = {a.pk: a for a in upcoming}
        field = cast(forms.TypedChoiceField, self.fields["current_appointment"])
        field.choices = [("", "None")] + [
            (
                a.pk,
                f"{a.starts_at.astimezone(clinic_zone()):%a %d %b %Y %H:%M} · "
                f"{a.appointment_type.name} with {a.practitioner.display_name}",
            )
            for a in upcoming
        ]

    @classmethod
    def initial_of(cls, entry: WaitlistEntry) -> dict[str, Any]:
        return {
            "practitioner": entry.practitioner,
            "appointment_type": entry.appointment_type,
            "preferred_weekdays": entry.preferred_weekdays,
            "preferred_from": entry.preferred_from,
            "preferred_until": entry.preferred_until,
            "current_appointment": entry.current_appointment_id,
            "note": entry.note,
        }

    def entry_input(self) -> WaitlistEntryInput:
        data = self.cleaned_data
        return WaitlistEntryInput(
            patient=self.patient,
            practitioner=data.get("practitioner"),
            appointment_type=data.get("appointment_type"),
            preferred_weekdays=tuple(data.get("preferred_weekdays") or ()),
            preferred_from=data.get("preferred_from"),
            preferred_until=data.get("preferred_until"),
            current_appointment=self.appointments.get(data.get("current_appointment") or 0),
            note=data.get("note") or "",
        )


def when_label(entry: WaitlistEntry) -> str:
    """ "Mon, Wed · 09:00-12:00", "any day · from 14:00", "any time"."""
    days = ", ".join(WorkingPeriod.Weekday(day).label[:3] for day in entry.preferred_weekdays)
    start, end = entry.preferred_from, entry.preferred_until
    if start and end:
        hours = f"{start:%H:%M}-{end:%H:%M}"
    elif start:
        hours = f"from {start:%H:%M}"
    elif end:
        hours = f"until {end:%H:%M}"
    else:
        hours = ""
    if not days and not hours:
        return "any time"
    return " · ".join(part for part in (days or "any day", hours) if part)


def _patient_param(raw: str) -> Patient | None:
    if not raw:
        return None
    return get_patient_for(patient_id=raw)


def _waitlist_page(
    request: HttpRequest,
    *,
    form: WaitlistEntryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    query = request.GET.get("find", "")[:200].replace("\x00", "").strip()
    patient = form.patient if form is not None else _patient_param(request.GET.get("patient", ""))
    if form is None and patient is not None and _may(request, MANAGE):
        form = WaitlistEntryForm(patient=patient)
    matches: list[Patient] = []
    if query:
        matches, _ = patients_search(query=query, limit=PATIENT_MATCHES_SHOWN)
    context = {
        "entries": [
            {"entry": entry, "when": when_label(entry)} for entry in waitlist_entries()[:500]
        ],
        "find": query,
        "matches": matches,
        "form": form,
        "patient": patient,
        "waitlist_offers": list(open_waitlist_offers()[:OFFERS_SHOWN]),
        "offers_next": reverse("calendar-waitlist"),
    }
    return render(request, "scheduling/waitlist_list.html", context, status=status)


@capability_view(VIEW)
@require_GET
def waitlist(request: HttpRequest) -> HttpResponse:
    """Who is waiting, longest first; find a patient to add (?find=), then the form (?patient=)."""
    return _waitlist_page(request)


@capability_view(MANAGE)
@require_POST
def waitlist_add(request: HttpRequest) -> HttpResponse:
    patient = get_patient_for(patient_id=request.POST.get("patient", ""))
    form = WaitlistEntryForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            waitlist_entry_add(actor=_actor(request), data=form.entry_input())
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{patient.display_name} is on the waitlist.")
            return redirect("calendar-waitlist")
    return _waitlist_page(request, form=form, status=400)


@capability_view(MANAGE)
@require_http_methods(["GET", "POST"])
def waitlist_edit(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_waitlist_entry_for(entry_id=entry_id)
    if request.method == "GET":
        form = WaitlistEntryForm(initial=WaitlistEntryForm.initial_of(entry), patient=entry.patient)
        return render(request, "scheduling/waitlist_edit.html", {"entry": entry, "form": form})
    form = WaitlistEntryForm(request.POST, patient=entry.patient)
    if form.is_valid():
        try:
            waitlist_entry_update(actor=_actor(request), entry=entry, data=form.entry_input())
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, "Waitlist entry saved.")
            return redirect("calendar-waitlist")
    return render(
        request, "scheduling/waitlist_edit.html", {"entry": entry, "form": form}, status=400
    )


@capability_view(MANAGE)
@require_POST
def waitlist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_waitlist_entry_for(entry_id=entry_id)
    try:
        waitlist_entry_remove(actor=_actor(request), entry=entry)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{entry.patient.display_name} is off the waitlist.")
    return redirect("calendar-waitlist")


# --- offers --------------------------------------------------------------------------------------


@capability_view(VIEW)
@require_GET
def waitlist_offers(request: HttpRequest) -> HttpResponse:
    """Freed slots offered to waiting patients, soonest first."""
    context = {
        "waitlist_offers": list(open_waitlist_offers()[:OFFERS_SHOWN]),
        "offers_next": reverse("calendar-waitlist-offers"),
    }
    return render(request, "scheduling/waitlist_offers.html", context)


@capability_view(MANAGE)
@require_POST
def waitlist_offer_book(request: HttpRequest, offer_id: int) -> HttpResponse:
    """Book the waiting patient into the freed slot; their later appointment is cancelled
    too unless "cancel their later appointment" was unticked."""
    offer = get_waitlist_offer_for(offer_id=offer_id)
    back = _safe_next(request, reverse("calendar-waitlist-offers"))
    try:
        appointment = waitlist_offer_accept(
            actor=_actor(request),
            offer=offer,
            cancel_current=request.POST.get("cancel_current") == "1",
        )
    except AppointmentConflict as conflict:
        messages.error(request, f"Not booked: {conflict.message}")
        return redirect(back)
    except ValidationError as error:
        messages.error(request, f"Not booked: {' '.join(error.messages)}")
        return redirect(back)
    messages.success(request, f"{offer.entry.patient.display_name} booked into the freed slot.")
    return redirect("calendar-appointment", appointment_id=appointment.pk)


@capability_view(MANAGE)
@require_POST
def waitlist_offer_dismiss_view(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = get_waitlist_offer_for(offer_id=offer_id)
    try:
        waitlist_offer_dismiss(actor=_actor(request), offer=offer)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Offer dismissed.")
    return redirect(_safe_next(request, reverse("calendar-waitlist-offers")))
