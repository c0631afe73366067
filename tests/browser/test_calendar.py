"""The calendar in a real browser: a receptionist books an appointment by clicking an empty
time and searching for the patient, drags it to another time, is told who is in the way
when dropping it on a taken slot, then cancels it with a reason; and checks a patient in
from today's list with one click."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db.models import Max
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Locator, Page, expect

from tenant_apps.patients.models import Patient, PatientNumberCounter
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.models import Appointment, AppointmentType, Practitioner, Room
from tests.browser.conftest import LiveSite, _in_a_connection_of_its_own
from tests.browser.test_shell import sign_in
from tests.conftest import World
from tests.support.scheduling import MONDAY, calendar_setup

RECEPTIONIST_A = "reception@clinic-a.example"
DAY = MONDAY.isoformat()


@dataclass(frozen=True)
class Seeded:
    pat_id: int
    held_id: int  # Ben Okafor with Dr Pat, Monday 14:00-14:30
    today_id: int  # Ana Lima with Dr Olivia, today at noon


@pytest.fixture
def committed_calendar(world: World) -> Iterator[Seeded]:
    """Clinic A's calendar, committed so the live server sees it; removed afterwards
    (the audit rows stay: the trail is append-only and names only ids)."""
    clinic = world.clinic_a
    found: list[Seeded] = []

    def seed() -> None:
        with tenant_context(clinic):
            cal = calendar_setup(pat_user=world.practitioner_a, olivia_user=world.owner_a)
            held = cal.book(patient=cal.other_patient, starts_at=cal.at(MONDAY, 14))
            zone = clinic_zone()
            today = timezone.now().astimezone(zone).date()
            noon = dt.datetime.combine(today, dt.time(12), tzinfo=zone)
            today_one = cal.book(
                practitioner=cal.olivia,
                appointment_type=cal.consult,
                starts_at=noon,
                allow_outside_hours=True,  # today may be a weekend
            )
            found.append(Seeded(pat_id=cal.pat.pk, held_id=held.pk, today_id=today_one.pk))

    def undo() -> None:
        with tenant_context(clinic):
            Appointment.objects.all().delete()  # status history cascades
            Practitioner.objects.all().delete()  # working hours cascade
            AppointmentType.objects.all().delete()
            Room.objects.all().delete()
            Patient.objects.filter(last_name__in=["Lima", "Okafor"]).delete()
            last = Patient.objects.aggregate(last=Max("sequence"))["last"] or 0
            PatientNumberCounter.objects.filter(pk=1).update(last_number=last)

    _in_a_connection_of_its_own(seed)
    try:
        yield found[0]
    finally:
        _in_a_connection_of_its_own(undo)


def column(page: Page, practitioner_id: int) -> Locator:
    return page.get_by_test_id(f"col-practitioner-{practitioner_id}")


def y_of(col: Locator, minutes_from_top: float) -> float:
    """The column's y (relative to it) `minutes_from_top` minutes below its first hour."""
    box = col.bounding_box()
    assert box is not None
    per_minute = box["height"] / float(col.get_attribute("data-minutes") or 1)
    return minutes_from_top * per_minute


def drag(page: Page, block: Locator, col: Locator, minutes_from_top: float) -> None:
    """Press near the block's top edge, move like a hand would, release at the new time."""
    block_box, col_box = block.bounding_box(), col.bounding_box()
    assert block_box is not None
    assert col_box is not None
    grab = 4
    x = block_box["x"] + block_box["width"] / 2
    page.mouse.move(x, block_box["y"] + grab)
    page.mouse.down()
    page.mouse.move(x, col_box["y"] + y_of(col, minutes_from_top) + grab, steps=12)
    page.mouse.up()


@pytest.mark.browser
def test_a_receptionist_books_drags_meets_a_conflict_and_cancels(
    committed_calendar: Seeded, page: Page, live_site: LiveSite
) -> None:
    seeded = committed_calendar
    sign_in(page, live_site, RECEPTIONIST_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))
    page.goto(live_site.clinic_url("clinic-a", f"/calendar/?date={DAY}"))
    expect(page.get_by_test_id("cal-date")).to_contain_text("Monday 3 March 2031")
    pats = column(page, seeded.pat_id)
    expect(pats.get_by_test_id(f"appt-{seeded.held_id}")).to_be_visible()

    # Click the empty time at 10:05 in Dr Pat's column (the axis starts at 09:00): the
    # booking form opens for 10:00 with Dr Pat chosen.
    pats.click(position={"x": 30, "y": y_of(pats, 65)})
    expect(page).to_have_url(re.compile(r"/calendar/book/\?"))
    # The URL changes before the new page has finished loading (and run its script).
    page.wait_for_load_state("load")
    expect(page.get_by_label("Time")).to_have_value("10:00")
    expect(page.get_by_label("Date")).to_have_value(DAY)
    expect(page.get_by_label("Practitioner")).to_have_value(str(seeded.pat_id))

    page.get_by_label("Find the patient").fill("lima")
    choice = page.get_by_role("radio", name=re.compile(r"^Ana Lima · P-\d+"))
    expect(choice).to_be_visible()
    choice.check()
    page.get_by_label("Appointment type").select_option(label="Check-up")
    page.get_by_label("Notes for the front desk").fill("First visit")
    page.get_by_role("button", name="Book appointment").click()

    expect(page).to_have_url(re.compile(rf"/calendar/\?date={DAY}"))
    page.wait_for_load_state("load")  # dragging needs the page's script
    expect(page.locator(".messages")).to_contain_text("Booked Ana Lima with Dr Pat")
    pats = column(page, seeded.pat_id)
    booked = pats.locator(".cal-block", has_text="Ana Lima")
    expect(booked).to_have_count(1)
    expect(booked.locator(".cal-time")).to_have_text("10:00")
    appointment_id = booked.get_attribute("data-id")

    # Drag it an hour later: saved, and the re-drawn calendar shows it at 11:00.
    drag(page, booked, pats, 120)
    message = page.get_by_test_id("cal-message")
    expect(message).to_contain_text("Moved Ana Lima to Mon 3 Mar 2031, 11:00 with Dr Pat.")
    moved = page.get_by_test_id(f"appt-{appointment_id}")
    expect(moved.locator(".cal-time")).to_have_text("11:00")
    expect(moved).to_have_attribute("style", re.compile(r"top:calc\(120\.00 \*"))

    # Onto Ben Okafor's 14:00: the database refuses, the block goes back, and the page
    # says who is already booked there.
    drag(page, moved, column(page, seeded.pat_id), 300)
    expect(message).to_contain_text("Dr Pat is already booked Mon 03 Mar 14:00-14:30")
    expect(message).to_contain_text("Ben Okafor")
    back = page.get_by_test_id(f"appt-{appointment_id}")
    expect(back.locator(".cal-time")).to_have_text("11:00")
    expect(back).to_have_attribute("style", re.compile(r"top:calc\(120\.00 \*"))

    # Open it and cancel it with a reason.
    back.click()
    expect(page).to_have_url(re.compile(rf"/calendar/appointments/{appointment_id}/$"))
    expect(page.get_by_test_id("appointment-when")).to_contain_text("11:00\u201311:30")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.locator(".field-error")).to_contain_text("Say why the appointment is cancelled.")
    page.get_by_label("Reason for cancelling").fill("Patient phoned: has the flu")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_test_id("appointment-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("cancellation-reason")).to_have_text(
        "Cancelled: Patient phoned: has the flu"
    )
    expect(page.get_by_test_id("status-history")).to_contain_text("Booked → Cancelled")

    # The day no longer shows it; the slot is free.
    page.goto(live_site.clinic_url("clinic-a", f"/calendar/?date={DAY}"))
    expect(page.get_by_test_id(f"appt-{seeded.held_id}")).to_be_visible()
    expect(page.get_by_test_id(f"appt-{appointment_id}")).to_have_count(0)


@pytest.mark.browser
def test_the_front_desk_checks_a_patient_in_from_todays_list(
    committed_calendar: Seeded, page: Page, live_site: LiveSite
) -> None:
    seeded = committed_calendar
    sign_in(page, live_site, RECEPTIONIST_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))
    page.goto(live_site.clinic_url("clinic-a", "/calendar/today/"))
    row = page.get_by_test_id(f"today-row-{seeded.today_id}")
    expect(row).to_contain_text("Ana Lima")
    expect(page.get_by_test_id(f"today-status-{seeded.today_id}")).to_have_text("Booked")

    page.get_by_test_id(f"status-arrived-{seeded.today_id}").click()
    expect(page.get_by_test_id(f"today-status-{seeded.today_id}")).to_have_text("Arrived")
    expect(page.get_by_test_id("today-notice")).to_have_text("Ana Lima: arrived.")
    # Answered in place (htmx): still the same page, now offering the next step.
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/calendar/today/"))
    page.get_by_test_id(f"status-in_progress-{seeded.today_id}").click()
    expect(page.get_by_test_id(f"today-status-{seeded.today_id}")).to_have_text("In progress")
