"""Calendar setup pages under /calendar/setup/ (calendar.setup: owners and practice
managers): practitioners, rooms and chairs, appointment types, each practitioner's working
week, leave and extra hours, clinic closures.

Every form shows the services' refusals on its fields and saves nothing on error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from drcrm.lookup import get_or_404
from drcrm.validation import form_errors_add
from shared_apps.accounts.access import capability_view
from shared_apps.accounts.models import User
from shared_apps.accounts.roles import Capability
from shared_apps.staff.selectors import members_of
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.forms_setup import (
    AppointmentTypeForm,
    ClinicClosureForm,
    PractitionerCreateForm,
    PractitionerForm,
    RoomForm,
    ScheduleExceptionForm,
    WorkingWeekForm,
)
from tenant_apps.scheduling.models import (
    AppointmentType,
    ClinicClosure,
    Practitioner,
    Room,
    ScheduleException,
)
from tenant_apps.scheduling.selectors import (
    get_appointment_type_for,
    get_practitioner_for,
    get_room_for,
)
from tenant_apps.scheduling.services import (
    appointment_type_create,
    appointment_type_update,
    clinic_closure_create,
    clinic_closure_delete,
    practitioner_create,
    practitioner_update,
    room_create,
    room_update,
    schedule_exception_create,
    schedule_exception_delete,
    working_week_set,
)

SETUP = Capability.CALENDAR_SETUP
# Past leave and closures stay visible this long, so a mistake just made can be undone.
RECENT_DAYS = 31
ROWS_SHOWN = 200


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _today() -> dt.date:
    return timezone.now().astimezone(clinic_zone()).date()


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(request, f"scheduling/setup/{template}", context, status=status)


# --- overview ----------------------------------------------------------------------------------


@capability_view(SETUP)
@require_GET
def setup_overview(request: HttpRequest) -> HttpResponse:
    """Everything the calendar is built from, on one page, with links to change each."""
    practitioners = Practitioner.objects.prefetch_related("appointment_types").annotate(
        periods=Count("working_periods")
    )
    types = AppointmentType.objects.prefetch_related("rooms")
    closures = ClinicClosure.objects.filter(ends_on__gte=_today() - dt.timedelta(days=RECENT_DAYS))[
        :ROWS_SHOWN
    ]
    return _page(
        request,
        "overview.html",
        {
            "practitioners": practitioners,
            "rooms": Room.objects.all(),
            "types": types,
            "closures": closures,
        },
    )


# --- practitioners -----------------------------------------------------------------------------


def _members_to_add(request: HttpRequest) -> list[tuple[int, str]]:
    """Active members of this clinic who are not on the calendar yet."""
    on_calendar = set(Practitioner.objects.values_list("user_id", flat=True))
    clinic = request.tenant  # type: ignore[attr-defined]
    return [
        (
            membership.user_id,
            f"{membership.user.full_name or membership.user.email} · "
            f"{membership.get_role_display()}",
        )
        for membership in members_of(clinic=clinic).filter(is_active=True)
        if membership.user_id not in on_calendar
    ]


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_practitioner_new(request: HttpRequest) -> HttpResponse:
    members = _members_to_add(request)
    if request.method == "GET":
        form = PractitionerCreateForm(members=members)
        return _page(request, "practitioner_form.html", {"form": form, "members": members})
    form = PractitionerCreateForm(request.POST, members=members)
    if form.is_valid():
        data = form.cleaned_data
        try:
            practitioner = practitioner_create(
                actor=_actor(request),
                user=User.objects.get(pk=data["user"]),
                display_name=data["display_name"],
                colour=data["colour"],
                appointment_types=data["appointment_types"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{practitioner.display_name} is on the calendar.")
            return redirect("calendar-setup-hours", practitioner_id=practitioner.pk)
    context = {"form": form, "members": members}
    return _page(request, "practitioner_form.html", context, status=400)


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_practitioner_edit(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    practitioner = get_practitioner_for(practitioner_id=practitioner_id)
    if request.method == "GET":
        form = PractitionerForm(initial=PractitionerForm.initial_of(practitioner))
        return _page(
            request, "practitioner_form.html", {"form": form, "practitioner": practitioner}
        )
    form = PractitionerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            practitioner_update(
                actor=_actor(request),
                practitioner=practitioner,
                display_name=data["display_name"],
                colour=data["colour"],
                appointment_types=data["appointment_types"],
                is_active=data["is_active"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{practitioner.display_name} saved.")
            return redirect("calendar-setup")
    practitioner.refresh_from_db()  # the heading shows what is stored, not what was typed
    context = {"form": form, "practitioner": practitioner}
    return _page(request, "practitioner_form.html", context, status=400)


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_working_week(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    """The usual week as a grid of stretches per weekday; the gaps are breaks."""
    practitioner = get_practitioner_for(practitioner_id=practitioner_id)
    if request.method == "GET":
        form = WorkingWeekForm(
            initial=WorkingWeekForm.initial_of(list(practitioner.working_periods.all()))
        )
        return _page(request, "working_week.html", {"form": form, "practitioner": practitioner})
    form = WorkingWeekForm(request.POST)
    if form.is_valid():
        try:
            working_week_set(
                actor=_actor(request), practitioner=practitioner, periods=form.periods()
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{practitioner.display_name}'s working week saved.")
            return redirect("calendar-setup-hours", practitioner_id=practitioner.pk)
    context = {"form": form, "practitioner": practitioner}
    return _page(request, "working_week.html", context, status=400)


def _exceptions_page(
    request: HttpRequest,
    practitioner: Practitioner,
    form: ScheduleExceptionForm,
    *,
    status: int = 200,
) -> HttpResponse:
    since = _today() - dt.timedelta(days=RECENT_DAYS)
    exceptions = practitioner.schedule_exceptions.filter(date__gte=since)[:ROWS_SHOWN]
    context = {"practitioner": practitioner, "form": form, "exceptions": exceptions}
    return _page(request, "exceptions.html", context, status=status)


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_exceptions(request: HttpRequest, practitioner_id: int) -> HttpResponse:
    """Leave and extra hours: the list, and a form to add one."""
    practitioner = get_practitioner_for(practitioner_id=practitioner_id)
    if request.method == "GET":
        return _exceptions_page(request, practitioner, ScheduleExceptionForm())
    form = ScheduleExceptionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            schedule_exception_create(
                actor=_actor(request),
                practitioner=practitioner,
                date=data["date"],
                kind=data["kind"],
                starts=data["starts"],
                ends=data["ends"],
                note=data["note"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("calendar-setup-exceptions", practitioner_id=practitioner.pk)
    return _exceptions_page(request, practitioner, form, status=400)


@capability_view(SETUP)
@require_POST
def setup_exception_delete(
    request: HttpRequest, practitioner_id: int, exception_id: int
) -> HttpResponse:
    practitioner = get_practitioner_for(practitioner_id=practitioner_id)
    exception = get_or_404(
        ScheduleException.objects.filter(practitioner=practitioner), exception_id, "exception"
    )
    schedule_exception_delete(actor=_actor(request), exception=exception)
    messages.success(
        request, f"{exception.get_kind_display()} on {exception.date:%d %b %Y} removed."
    )
    return redirect("calendar-setup-exceptions", practitioner_id=practitioner.pk)


# --- rooms -----------------------------------------------------------------------------------


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_room_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, "room_form.html", {"form": RoomForm()})
    form = RoomForm(request.POST)
    if form.is_valid():
        try:
            room = room_create(
                actor=_actor(request),
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{room.name} added.")
            return redirect("calendar-setup")
    return _page(request, "room_form.html", {"form": form}, status=400)


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_room_edit(request: HttpRequest, room_id: int) -> HttpResponse:
    room = get_room_for(room_id=room_id)
    if request.method == "GET":
        initial = {"name": room.name, "kind": room.kind, "is_active": room.is_active}
        return _page(request, "room_form.html", {"form": RoomForm(initial=initial), "room": room})
    form = RoomForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            room_update(
                actor=_actor(request),
                room=room,
                name=data["name"],
                kind=data["kind"],
                is_active=data["is_active"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{room.name} saved.")
            return redirect("calendar-setup")
    room.refresh_from_db()
    return _page(request, "room_form.html", {"form": form, "room": room}, status=400)


# --- appointment types -------------------------------------------------------------------------


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_type_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, "type_form.html", {"form": AppointmentTypeForm()})
    form = AppointmentTypeForm(request.POST)
    if form.is_valid():
        try:
            appointment_type = appointment_type_create(
                actor=_actor(request), data=form.type_input()
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{appointment_type.name} added.")
            return redirect("calendar-setup")
    return _page(request, "type_form.html", {"form": form}, status=400)


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_type_edit(request: HttpRequest, type_id: int) -> HttpResponse:
    appointment_type = get_appointment_type_for(appointment_type_id=type_id)
    context: dict[str, Any] = {"appointment_type": appointment_type}
    if request.method == "GET":
        context["form"] = AppointmentTypeForm(
            initial=AppointmentTypeForm.initial_of(appointment_type)
        )
        return _page(request, "type_form.html", context)
    form = AppointmentTypeForm(request.POST)
    if form.is_valid():
        try:
            appointment_type_update(
                actor=_actor(request), appointment_type=appointment_type, data=form.type_input()
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{appointment_type.name} saved.")
            return redirect("calendar-setup")
    appointment_type.refresh_from_db()
    context["form"] = form
    return _page(request, "type_form.html", context, status=400)


# --- clinic closures ---------------------------------------------------------------------------


def _closures_page(
    request: HttpRequest, form: ClinicClosureForm, *, status: int = 200
) -> HttpResponse:
    since = _today() - dt.timedelta(days=RECENT_DAYS)
    closures = ClinicClosure.objects.filter(ends_on__gte=since)[:ROWS_SHOWN]
    return _page(request, "closures.html", {"form": form, "closures": closures}, status=status)


@capability_view(SETUP)
@require_http_methods(["GET", "POST"])
def setup_closures(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _closures_page(request, ClinicClosureForm())
    form = ClinicClosureForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            closure = clinic_closure_create(
                actor=_actor(request),
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data["reason"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"Closure saved: {closure.reason}.")
            return redirect("calendar-setup-closures")
    return _closures_page(request, form, status=400)


@capability_view(SETUP)
@require_POST
def setup_closure_delete(request: HttpRequest, closure_id: int) -> HttpResponse:
    closure = get_or_404(ClinicClosure.objects.all(), closure_id, "closure")
    clinic_closure_delete(actor=_actor(request), closure=closure)
    messages.success(request, f"Closure removed: {closure.reason}.")
    return redirect("calendar-setup-closures")
