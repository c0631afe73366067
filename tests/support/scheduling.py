"""A clinic's calendar ready to book on: two practitioners, two chairs, three types.

Call inside the clinic's schema (`tenant_context`). Both practitioners work Monday to
Friday 09:00-12:30 and 13:30-17:00 (the hour between is lunch). `marker` goes into every
name, so isolation tests can look for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tenant_apps.patients.models import Patient
from tenant_apps.patients.services import PatientInput, patient_create
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.models import Appointment, AppointmentType, Practitioner, Room
from tenant_apps.scheduling.services import (
    AppointmentTypeInput,
    BookingRequest,
    appointment_book,
    appointment_type_create,
    practitioner_create,
    room_create,
    working_week_set,
)

# A Monday well in the future, so "outside working hours" never depends on today.
MONDAY = dt.date(2031, 3, 3)
WORKING_WEEK = [
    (weekday, starts, ends)
    for weekday in range(5)
    for starts, ends in ((dt.time(9), dt.time(12, 30)), (dt.time(13, 30), dt.time(17)))
]


@dataclass
class Calendar:
    pat: Practitioner  # practitioner_a's user
    olivia: Practitioner  # owner_a's user
    chair_1: Room
    chair_2: Room
    checkup: AppointmentType  # 30 min, needs a chair
    cleaning: AppointmentType  # 45 min + 15 min buffer, needs a chair
    consult: AppointmentType  # 20 min, no room; only Olivia offers it
    patient: Patient
    other_patient: Patient

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """A local wall-clock time in the clinic's zone."""
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clinic_zone())

    def book(self, *, actor: Any = None, **fields: Any) -> Appointment:
        values: dict[str, Any] = {
            "patient": self.patient,
            "practitioner": self.pat,
            "appointment_type": self.checkup,
            "starts_at": self.at(MONDAY, 10),
            **fields,
        }
        return appointment_book(actor=actor, booking=BookingRequest(**values))


def calendar_setup(*, pat_user: Any, olivia_user: Any, marker: str = "") -> Calendar:
    prefix = f"{marker} " if marker else ""
    chair_1 = room_create(actor=None, name=f"{prefix}Chair 1", kind=Room.Kind.CHAIR)
    chair_2 = room_create(actor=None, name=f"{prefix}Chair 2", kind=Room.Kind.CHAIR)
    checkup = appointment_type_create(
        actor=None,
        data=AppointmentTypeInput(
            name=f"{prefix}Check-up", default_duration_minutes=30, rooms=(chair_1, chair_2)
        ),
    )
    cleaning = appointment_type_create(
        actor=None,
        data=AppointmentTypeInput(
            name=f"{prefix}Cleaning",
            default_duration_minutes=45,
            buffer_minutes=15,
            colour="#9333ea",
            rooms=(chair_1, chair_2),
        ),
    )
    consult = appointment_type_create(
        actor=None,
        data=AppointmentTypeInput(
            name=f"{prefix}Consultation", default_duration_minutes=20, colour="#ea580c"
        ),
    )
    pat = practitioner_create(
        actor=None,
        user=pat_user,
        display_name=f"{prefix}Dr Pat",
        appointment_types=[checkup, cleaning],
    )
    olivia = practitioner_create(
        actor=None,
        user=olivia_user,
        display_name=f"{prefix}Dr Olivia",
        colour="#16a34a",
        appointment_types=[checkup, cleaning, consult],
    )
    for practitioner in (pat, olivia):
        working_week_set(actor=None, practitioner=practitioner, periods=WORKING_WEEK)
    patient = patient_create(
        actor=None, data=PatientInput(first_name=f"{prefix}Ana", last_name="Lima")
    )
    other_patient = patient_create(
        actor=None, data=PatientInput(first_name=f"{prefix}Ben", last_name="Okafor")
    )
    return Calendar(
        pat=pat,
        olivia=olivia,
        chair_1=chair_1,
        chair_2=chair_2,
        checkup=checkup,
        cleaning=cleaning,
        consult=consult,
        patient=patient,
        other_patient=other_patient,
    )
