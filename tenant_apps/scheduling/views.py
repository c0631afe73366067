"""Calendar pages: the day and week views, today's list, booking, an appointment's page,
and the endpoints the calendar's script calls (drag to reschedule). Parse input, call a
selector or a service, render; the database's constraints decide what is free."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from drcrm.validation import error_one_line, whole_number
from shared_apps.accounts.access import capability_view
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.patients.models import Patient
from tenant_apps.patients.selectors import patients_search, search_query_clean
from tenant_apps.scheduling import calendar_data
from tenant_apps.scheduling.availability import next_available_slots
from tenant_apps.scheduling.clock import clinic_zone, day_bounds
from tenant_apps.scheduling.forms import (
    BookingForm,
    CancelForm,
    NotesForm,
    RescheduleForm,
    service_errors_add,
)
from tenant_apps.scheduling.models import (
    STATUS_TRANSITIONS,
    Appointment,
    AppointmentStatusChange,
    Practitioner,
)
from tenant_apps.scheduling.selectors import (
    appointments_between,
    get_appointment_for,
    get_practitioner_for,
    get_room_for,
)
from tenant_apps.scheduling.services import (
    AppointmentConflict,
    OutsideWorkingHours,
    appointment_book,
    appointment_cancel,
    appointment_notes_update,
    appointment_reschedule,
    appointment_status_change,
)
from tenant_apps.scheduling.waitlist import open_waitlist_offers

PATIENT_MATCHES = 8
NEXT_SLOTS = 6
# Button labels for a move from one status to another; moves not listed use the generic
# "Mark <status>". Cancelling has its own form (it needs a reason).
STATUS_ACTIONS: dict[tuple[str, str], str] = {
    ("booked", "confirmed"): "Confirm",
    ("confirmed", "booked"): "Unconfirm",
    ("booked", "arrived"): "Check in",
    ("confirmed", "arrived"): "Check in",
    ("no_show", "arrived"): "Check in (came after all)",
    ("in_progress", "arrived"): "Back to waiting",
    ("arrived", "booked"): "Undo check-in",
    ("arrived", "in_progress"): "Start",
    ("completed", "in_progress"): "Reopen",
    ("arrived", "completed"): "Complete",
    ("in_progress", "completed"): "Complete",
    ("booked", "no_show"): "No-show",
    ("confirmed", "no_show"): "No-show",
}
# Today's list shows the front desk's everyday moves only; the appointment page shows all.
FRONT_DESK_MOVES = {
    ("booked", "confirmed"),
    ("booked", "arrived"),
    ("confirmed", "arrived"),
    ("no_show", "arrived"),
    ("arrived", "in_progress"),
    ("arrived", "completed"),
    ("in_progress", "completed"),
    ("booked", "no_show"),
    ("confirmed", "no_show"),
}


# --- small helpers ----------------------------------------------------------------------------


def _may(request: HttpRequest, capability: Capability) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_can(membership.role, capability)


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _today(zone: zoneinfo.ZoneInfo) -> dt.date:
    return timezone.now().astimezone(zone).date()


def _wants_fragment(request: HttpRequest) -> bool:
    return request.GET.get("fragment") == "1"


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _day_url(day: dt.date, **params: str) -> str:
    query = urlencode({"date": day.isoformat(), **{k: v for k, v in params.items() if v}})
    return f"{reverse('calendar')}?{query}"


def _when(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def status_actions(status: str, *, front_desk: bool = False) -> list[dict[str, str]]:
    """The status buttons an appointment in `status` gets (STATUS_TRANSITIONS decides)."""
    actions = []
    for to_status in sorted(STATUS_TRANSITIONS.get(status, ())):
        if to_status == Appointment.Status.CANCELLED:
            continue
        if front_desk and (status, to_status) not in FRONT_DESK_MOVES:
            continue
        if (status, to_status) == ("arrived", "confirmed"):
            continue  # "Undo check-in" (back to booked) says it once
        label = STATUS_ACTIONS.get(
            (status, to_status), f"Mark {Appointment.Status(to_status).label.lower()}"
        )
        actions.append({"to": to_status, "label": label})
    order = ["confirmed", "arrived", "in_progress", "completed", "booked", "no_show"]
    return sorted(actions, key=lambda action: order.index(action["to"]))


# --- day and week views ----------------------------------------------------------------------


def _view_params(request: HttpRequest) -> dict[str, str]:
    return {
        "by": "room" if request.GET.get("by") == "room" else "practitioner",
        "colour": "status" if request.GET.get("colour") == "status" else "type",
    }


def _grid_context(
    request: HttpRequest, *, grid: calendar_data.Grid, day: dt.date, error: str
) -> dict[str, Any]:
    return {
        "grid": grid,
        "day": day,
        "today": _today(grid.zone),
        "zone_name": grid.zone.key,
        "date_error": error,
        "can_manage": _may(request, Capability.CALENDAR_MANAGE),
        "can_override": _may(request, Capability.CALENDAR_OVERRIDE),
        "statuses": Appointment.Status.choices,
        **_view_params(request),
    }


def _requested_day(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> tuple[dt.date, str]:
    today = _today(zone)
    try:
        return calendar_data.parse_day(request.GET.get("date"), default=today), ""
    except ValidationError as error:
        return today, error_one_line(error, {"date": "Date"})


@capability_view(Capability.CALENDAR_VIEW)
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    """The day view: a column per practitioner (or per room) on one time axis."""
    zone = clinic_zone()
    day, error = _requested_day(request, zone)
    params = _view_params(request)
    grid = calendar_data.day_grid(
        day=day,
        by=params["by"],
        zone=zone,
        now=timezone.now(),
        can_move=_may(request, Capability.CALENDAR_MANAGE),
    )
    context = _grid_context(request, grid=grid, day=day, error=error)
    context.update(
        view="day",
        previous_day=day - dt.timedelta(days=1),
        next_day=day + dt.timedelta(days=1),
    )
    template = "scheduling/_calendar_grid.html" if _wants_fragment(request) else None
    return render(
        request,
        template or "scheduling/calendar_day.html",
        context,
        status=400 if error else 200,
    )


@capability_view(Capability.CALENDAR_VIEW)
@require_GET
def calendar_week(request: HttpRequest) -> HttpResponse:
    """One practitioner's week, a column a day."""
    zone = clinic_zone()
    day, error = _requested_day(request, zone)
    practitioners = list(Practitioner.objects.filter(is_active=True))
    raw = request.GET.get("practitioner", "")
    practitioner = next((p for p in practitioners if str(p.pk) == raw), None)
    if practitioner is None and raw:
        practitioner = get_practitioner_for(practitioner_id=raw)  # inactive, or a 404
    if practitioner is None and practitioners:
        practitioner = practitioners[0]
    context: dict[str, Any] = {
        "view": "week",
        "practitioner": practitioner,
        "practitioners": practitioners,
        "day": day,
        "today": _today(zone),
        "date_error": error,
        **_view_params(request),
    }
    if practitioner is not None:
        grid = calendar_data.week_grid(
            practitioner=practitioner,
            day=day,
            zone=zone,
            now=timezone.now(),
            can_move=_may(request, Capability.CALENDAR_MANAGE),
        )
        context.update(_grid_context(request, grid=grid, day=day, error=error))
        context.update(
            previous_day=day - dt.timedelta(days=7),
            next_day=day + dt.timedelta(days=7),
            week_first=grid.columns[0].day,
            week_last=grid.columns[-1].day,
        )
    template = "scheduling/_calendar_grid.html" if _wants_fragment(request) else None
    return render(
        request, template or "scheduling/calendar_week.html", context, status=400 if error else 200
    )


# --- today's list ----------------------------------------------------------------------------


def _today_context(request: HttpRequest, *, notice: str = "", error: str = "") -> dict[str, Any]:
    zone = clinic_zone()
    today = _today(zone)
    starts, ends = day_bounds(today, zone=zone)
    appointments = list(appointments_between(starts=starts, ends=ends))
    can_manage = _may(request, Capability.CALENDAR_MANAGE)
    rows = [
        {
            "appointment": appointment,
            "actions": status_actions(appointment.status, front_desk=True) if can_manage else [],
        }
        for appointment in appointments
    ]
    waiting = sum(1 for a in appointments if a.status == Appointment.Status.ARRIVED)
    return {
        "rows": rows,
        "day": today,
        "waiting": waiting,
        "expected": sum(
            1 for a in appointments if a.status in (Appointment.Status.BOOKED, "confirmed")
        ),
        "can_manage": can_manage,
        "notice": notice,
        "error": error,
        # Slots freed by cancellations that someone on the waitlist would take.
        "waitlist_offers": list(open_waitlist_offers()),
        "offers_next": reverse("calendar-today"),
    }


@capability_view(Capability.CALENDAR_VIEW)
@require_GET
def calendar_today(request: HttpRequest) -> HttpResponse:
    """Today's appointments in time order, for the front desk (refreshes itself)."""
    template = "scheduling/_today_list.html" if _wants_fragment(request) else None
    return render(request, template or "scheduling/calendar_today.html", _today_context(request))


# --- booking ---------------------------------------------------------------------------------


def _practitioner_or_none(raw: str | None) -> Practitioner | None:
    if not raw:
        return None
    try:
        return get_practitioner_for(practitioner_id=raw)
    except Http404:
        return None


def _start_param(raw: str | None, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """`start` as the page's script sends it (an ISO instant) or typed (local, no offset)."""
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if not calendar_data.EARLIEST_DAY <= moment.date() <= calendar_data.LATEST_DAY:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _booking_initial(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    params = request.GET
    initial: dict[str, Any] = {
        key: params[key]
        for key in ("practitioner", "room", "patient")
        if whole_number(params.get(key, "")) is not None
    }
    if whole_number(params.get("type", "")) is not None:
        initial["appointment_type"] = params["type"]
    start = _start_param(params.get("start"), zone)
    if start is not None:
        initial["date"], initial["time"] = start.date(), start.time().replace(second=0)
    else:
        day, _ = _requested_day(request, zone)
        initial["date"] = day
    return initial


def _patient_matches(query: str, *, exclude_id: int | None = None) -> list[Patient]:
    query = search_query_clean(query)
    if not query:
        return []
    found, _ = patients_search(query=query, limit=PATIENT_MATCHES + 1)
    return [p for p in found if p.pk != exclude_id][:PATIENT_MATCHES]


def _selected_patient(form: BookingForm) -> Patient | None:
    patient_id = whole_number(form["patient"].value() or "")
    if patient_id is None:
        return None
    return Patient.objects.filter(pk=patient_id, merged_into__isnull=True).first()


def _slots_from(form: BookingForm, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """From the chosen date and time (the clicked slot), else from the chosen day's start."""
    day, time = form["date"].value(), form["time"].value()
    start_day = dt.date.fromisoformat(str(day)) if day else _today(zone)
    at = dt.time(0)
    if time:
        at = time if isinstance(time, dt.time) else dt.time.fromisoformat(str(time))
    return dt.datetime.combine(start_day, at.replace(tzinfo=None), tzinfo=zone)


def _next_slots(form: BookingForm, zone: zoneinfo.ZoneInfo) -> list[dict[str, str]]:
    """A few free times for the chosen type and practitioner, from the chosen time on."""
    practitioner = _practitioner_or_none(str(form["practitioner"].value() or ""))
    type_id = whole_number(form["appointment_type"].value() or "")
    if practitioner is None or type_id is None:
        return []
    appointment_type = practitioner.appointment_types.filter(pk=type_id).first()
    if appointment_type is None:
        return []
    try:
        starts_from = _slots_from(form, zone)
        slots = next_available_slots(
            appointment_type=appointment_type,
            practitioner=practitioner,
            starts_from=starts_from,
            limit=NEXT_SLOTS,
        )
    except (ValidationError, ValueError):
        return []
    return [
        {"value": slot.starts_at.astimezone(zone).isoformat(), "label": _when(slot.starts_at, zone)}
        for slot in slots
    ]


def _book_page(
    request: HttpRequest, form: BookingForm, *, status: int = 200, **extra: Any
) -> HttpResponse:
    zone = clinic_zone()
    selected = _selected_patient(form)
    query = str(form["patient_q"].value() or "")
    practitioner = _practitioner_or_none(str(form["practitioner"].value() or ""))
    types = practitioner.appointment_types.filter(is_active=True) if practitioner else []
    context = {
        "form": form,
        "selected_patient": selected,
        "patient_results": _patient_matches(query, exclude_id=selected.pk if selected else None),
        "patient_query": query,
        "durations": {str(t.pk): t.default_duration_minutes for t in types},
        "can_override": _may(request, Capability.CALENDAR_OVERRIDE),
        "next_slots": _next_slots(form, zone),
        "zone_name": zone.key,
        "offer_overbook": False,
        "offer_outside_hours": False,
        "next_url": _safe_next(request, ""),
        **extra,
    }
    # Once asked (or ticked), the confirmations stay on the page until the booking is made.
    if context["can_override"]:
        context["offer_overbook"] |= form["overbook"].value() in (True, "on", "1")
        context["offer_outside_hours"] |= form["allow_outside_hours"].value() in (True, "on", "1")
    return render(request, "scheduling/calendar_book.html", context, status=status)


def _book_refresh(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> HttpResponse:
    """Search for the patient, switch practitioner or take an offered slot: the form comes
    back with what was typed, nothing booked."""
    initial: dict[str, Any] = request.POST.dict()
    slot = _start_param(request.POST.get("slot"), zone)
    if slot is not None:
        initial["date"], initial["time"] = slot.date(), slot.time()
    practitioner = _practitioner_or_none(initial.get("practitioner"))
    form = BookingForm(initial=initial, practitioner=practitioner)
    return _book_page(request, form)


@capability_view(Capability.CALENDAR_MANAGE)
@require_http_methods(["GET", "POST"])
def calendar_book(request: HttpRequest) -> HttpResponse:
    """Book: `?practitioner=&start=` (an empty slot clicked in the calendar) fills it in."""
    zone = clinic_zone()
    if request.method != "POST":
        initial = _booking_initial(request, zone)
        practitioner = _practitioner_or_none(initial.get("practitioner"))
        return _book_page(request, BookingForm(initial=initial, practitioner=practitioner))
    if any(name in request.POST for name in ("find", "refresh", "slot")):
        return _book_refresh(request, zone)
    practitioner = _practitioner_or_none(request.POST.get("practitioner"))
    form = BookingForm(request.POST, practitioner=practitioner)
    if not form.is_valid():
        return _book_page(request, form, status=400)
    try:
        appointment = appointment_book(actor=_actor(request), booking=form.booking(zone))
    except AppointmentConflict as conflict:
        form.add_error(None, conflict.message)
        return _book_page(request, form, status=409, offer_overbook=True)
    except ValidationError as error:
        service_errors_add(form, error)
        outside = isinstance(error, OutsideWorkingHours)
        return _book_page(request, form, status=400, offer_outside_hours=outside)
    starts = appointment.starts_at.astimezone(zone)
    messages.success(
        request,
        f"Booked {appointment.patient.display_name} with {appointment.practitioner}, "
        f"{_when(appointment.starts_at, zone)}.",
    )
    fallback = _day_url(starts.date()) + f"#appt-{appointment.pk}"
    return redirect(_safe_next(request, fallback))


@capability_view(Capability.CALENDAR_MANAGE)
@require_GET
def calendar_book_patients(request: HttpRequest) -> HttpResponse:
    """The booking form's as-you-type patient search: radio choices, the chosen one first."""
    selected = None
    selected_id = whole_number(request.GET.get("selected", ""))
    if selected_id is not None:
        selected = Patient.objects.filter(pk=selected_id, merged_into__isnull=True).first()
    query = request.GET.get("q", "")
    context = {
        "selected_patient": selected,
        "patient_results": _patient_matches(query, exclude_id=selected.pk if selected else None),
        "patient_query": search_query_clean(query),
    }
    return render(request, "scheduling/_patient_choices.html", context)


# --- one appointment -------------------------------------------------------------------------


def _history(appointment: Appointment) -> list[dict[str, Any]]:
    changes = list(AppointmentStatusChange.objects.filter(appointment=appointment))
    ids = {change.changed_by_id for change in changes if change.changed_by_id}
    names = {
        pk: full_name or email
        for pk, full_name, email in User.objects.filter(pk__in=ids).values_list(
            "pk", "full_name", "email"
        )
    }
    return [
        {
            "change": change,
            "from_label": Appointment.Status(change.from_status).label
            if change.from_status
            else "",
            "to_label": Appointment.Status(change.to_status).label,
            "by": names.get(change.changed_by_id or 0, ""),
        }
        for change in changes
    ]


def _reschedule_initial(appointment: Appointment, zone: zoneinfo.ZoneInfo) -> dict[str, Any]:
    starts = appointment.starts_at.astimezone(zone)
    return {
        "date": starts.date(),
        "time": starts.time().replace(second=0, microsecond=0),
        "duration_minutes": int(
            (appointment.ends_at - appointment.starts_at).total_seconds() // 60
        ),
        "practitioner": appointment.practitioner_id,
        "room": appointment.room_id,
    }


def _appointment_page(
    request: HttpRequest,
    appointment: Appointment,
    *,
    reschedule_form: RescheduleForm | None = None,
    cancel_form: CancelForm | None = None,
    notes_form: NotesForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    zone = clinic_zone()
    can_manage = _may(request, Capability.CALENDAR_MANAGE)
    context = {
        "appointment": appointment,
        "length_minutes": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "history": _history(appointment),
        "actions": status_actions(appointment.status) if can_manage else [],
        "can_manage": can_manage,
        "can_override": _may(request, Capability.CALENDAR_OVERRIDE),
        "movable": can_manage and appointment.status in calendar_data.MOVABLE,
        "cancellable": can_manage and "cancelled" in STATUS_TRANSITIONS[appointment.status],
        "reschedule_form": reschedule_form
        or RescheduleForm(initial=_reschedule_initial(appointment, zone)),
        "cancel_form": cancel_form or CancelForm(),
        "notes_form": notes_form
        or NotesForm(initial={"front_desk_notes": appointment.front_desk_notes}),
        "day_url": _day_url(appointment.starts_at.astimezone(zone).date()),
        "week_url": reverse("calendar-week")
        + "?"
        + urlencode(
            {
                "practitioner": appointment.practitioner_id,
                "date": appointment.starts_at.astimezone(zone).date().isoformat(),
            }
        ),
        "offer_overbook": False,
        "offer_outside_hours": False,
        **extra,
    }
    return render(request, "scheduling/calendar_appointment.html", context, status=status)


@capability_view(Capability.CALENDAR_VIEW)
@require_GET
def calendar_appointment(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for(appointment_id=appointment_id)
    return _appointment_page(request, appointment)


@capability_view(Capability.CALENDAR_MANAGE)
@require_POST
def calendar_appointment_status(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """A status button (confirm, check in, start, complete, no-show). From today's list
    (htmx) the answer is the refreshed list; otherwise back where the button was."""
    appointment = get_appointment_for(appointment_id=appointment_id)
    to_status = request.POST.get("to_status", "")
    from_today = request.POST.get("return") == "today" and request.headers.get("HX-Request")
    try:
        appointment = appointment_status_change(
            actor=_actor(request), appointment=appointment, to_status=to_status
        )
    except (ValidationError, AppointmentConflict) as error:
        text = (
            error.message
            if isinstance(error, AppointmentConflict)
            else error_one_line(error, {"status": "Status"})
        )
        if from_today:
            # 200: htmx swaps only successful answers in, and the error belongs in the list.
            return render(
                request, "scheduling/_today_list.html", _today_context(request, error=text)
            )
        messages.error(request, text)
        return redirect(_safe_next(request, reverse("calendar-appointment", args=[appointment.pk])))
    notice = f"{appointment.patient.display_name}: {appointment.get_status_display().lower()}."
    if from_today:
        return render(
            request, "scheduling/_today_list.html", _today_context(request, notice=notice)
        )
    messages.success(request, notice)
    return redirect(_safe_next(request, reverse("calendar-appointment", args=[appointment.pk])))


@capability_view(Capability.CALENDAR_MANAGE)
@require_POST
def calendar_appointment_reschedule(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """The reschedule form on the appointment's page (date, time, practitioner, room)."""
    appointment = get_appointment_for(appointment_id=appointment_id)
    zone = clinic_zone()
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        return _appointment_page(request, appointment, reschedule_form=form, status=400)
    try:
        starts_at = form.starts_at(zone)
        moved = appointment_reschedule(
            actor=_actor(request),
            appointment=appointment,
            starts_at=starts_at,
            ends_at=form.ends_at(starts_at),
            practitioner=form.cleaned_data["practitioner"],
            room=form.cleaned_data["room"],
            overbook=True if form.cleaned_data["overbook"] else None,
            allow_outside_hours=form.cleaned_data["allow_outside_hours"],
        )
    except AppointmentConflict as conflict:
        form.add_error(None, conflict.message)
        return _appointment_page(
            request, appointment, reschedule_form=form, status=409, offer_overbook=True
        )
    except ValidationError as error:
        service_errors_add(form, error)
        return _appointment_page(
            request,
            appointment,
            reschedule_form=form,
            status=400,
            offer_outside_hours=isinstance(error, OutsideWorkingHours),
        )
    messages.success(request, f"Moved to {_when(moved.starts_at, zone)} with {moved.practitioner}.")
    return redirect("calendar-appointment", appointment_id=moved.pk)


def _move_refusal(request: HttpRequest, error: ValidationError) -> JsonResponse:
    outside = isinstance(error, OutsideWorkingHours)
    field_map = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    return JsonResponse(
        {
            "error": " ".join(message for messages_ in field_map.values() for message in messages_),
            "errors": field_map,
            "code": "outside_hours" if outside else "invalid",
            "can_confirm": outside and _may(request, Capability.CALENDAR_OVERRIDE),
        },
        status=400,
    )


def _instant_param(raw: str | None) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat((raw or "").strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            {"starts_at": "Send the new start as an ISO 8601 time with its offset."}
        )
    if not calendar_data.EARLIEST_DAY <= moment.date() <= calendar_data.LATEST_DAY:
        raise ValidationError({"starts_at": "Choose a date between 1900 and 2999."})
    return moment


@capability_view(Capability.CALENDAR_MANAGE)
@require_POST
def calendar_appointment_move(request: HttpRequest, appointment_id: int) -> JsonResponse:
    """Drag and drop: `starts_at` (an ISO instant), maybe a new `practitioner` or `room`.
    409 with who is in the way, 400 with a field map; the database decides."""
    appointment = get_appointment_for(appointment_id=appointment_id)
    zone = clinic_zone()
    raw_practitioner, raw_room = request.POST.get("practitioner"), request.POST.get("room")
    practitioner = (
        get_practitioner_for(practitioner_id=raw_practitioner) if raw_practitioner else None
    )
    room = get_room_for(room_id=raw_room) if raw_room else None
    try:
        moved = appointment_reschedule(
            actor=_actor(request),
            appointment=appointment,
            starts_at=_instant_param(request.POST.get("starts_at")),
            practitioner=practitioner,
            room=room,
            allow_outside_hours=request.POST.get("allow_outside_hours") == "1",
        )
    except AppointmentConflict as conflict:
        return JsonResponse({"error": conflict.message, "code": "conflict"}, status=409)
    except ValidationError as error:
        return _move_refusal(request, error)
    return JsonResponse(
        {
            "ok": True,
            "id": moved.pk,
            "starts_at": moved.starts_at.isoformat(),
            "message": f"Moved {moved.patient.display_name} to {_when(moved.starts_at, zone)} "
            f"with {moved.practitioner}.",
        }
    )


@capability_view(Capability.CALENDAR_MANAGE)
@require_POST
def calendar_appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for(appointment_id=appointment_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            appointment_cancel(
                actor=_actor(request), appointment=appointment, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            service_errors_add(form, error)
    if form.errors:
        return _appointment_page(request, appointment, cancel_form=form, status=400)
    messages.success(request, "Appointment cancelled; the time is free again.")
    return redirect("calendar-appointment", appointment_id=appointment.pk)


@capability_view(Capability.CALENDAR_MANAGE)
@require_POST
def calendar_appointment_notes(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = get_appointment_for(appointment_id=appointment_id)
    form = NotesForm(request.POST)
    if form.is_valid():
        try:
            appointment_notes_update(
                actor=_actor(request),
                appointment=appointment,
                front_desk_notes=form.cleaned_data["front_desk_notes"],
            )
        except ValidationError as error:
            service_errors_add(form, error)
    if form.errors:
        return _appointment_page(request, appointment, notes_form=form, status=400)
    messages.success(request, "Notes saved.")
    return redirect("calendar-appointment", appointment_id=appointment.pk)
