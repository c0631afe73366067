"""Demo data for development: the demo clinic `make run` creates, and `clinic seed-demo`.

Everyone the demo makes signs in with DEMO_PASSWORD (development only: every function here
refuses to run with DRCRM_ENV=production). The staff of a seeded clinic `<sub>`:

    owner@<sub>.example         Dr. Dana Whitfield     owner
    manager@<sub>.example       Priya Raman            practice manager (admin)
    dr.okafor@<sub>.example     Dr. Chidi Okafor       practitioner
    dr.lindqvist@<sub>.example  Dr. Sofia Lindqvist    practitioner
    assistant@<sub>.example     Tomás Alvarez          assistant
    reception@<sub>.example     Grace Kim              receptionist
    billing@<sub>.example       Martin Novak           billing

Seeding is deterministic and idempotent: a second run finds everyone and changes nothing.
An account that already exists (same email) is reused as it is, password included.
Later features add their demo records by appending a seeder to DEMO_SEEDERS (patients,
appointments, notes, invoices, ...): a function `(seed: DemoSeed) -> str` that makes what
is missing, reuses what exists, and returns a one-line summary.

The constants are importable without Django set up (the `make run` supervisor prints the
login before Django starts in its children); Django is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt
    import random

    from shared_apps.accounts.models import User
    from shared_apps.clinics.models import Clinic
    from tenant_apps.patients.models import Patient
    from tenant_apps.scheduling.models import Appointment, AppointmentType, Practitioner

DEMO_SUBDOMAIN = "demo"
DEMO_OWNER_EMAIL = "owner@demo.example"
# Development only, for every demo account (the demo refuses to run in production).
DEMO_PASSWORD = "demo-owner-pass"  # noqa: S105
DEMO_OWNER_PASSWORD = DEMO_PASSWORD  # the name `make run` prints
# The demo clinic `make run` creates (the options of `manage.py clinic create`).
DEMO_CLINIC = {
    "name": "Demo Dental Clinic",
    "subdomain": DEMO_SUBDOMAIN,
    "type": "dental",
    "country": "GB",
    "time-zone": "Europe/London",
    "currency": "GBP",
}


@dataclass(frozen=True)
class DemoPerson:
    key: str  # how seeders refer to them: DemoSeed.people[key]
    local_part: str  # the email is <local_part>@<subdomain>.example
    full_name: str
    role: str  # shared_apps.accounts.models.Role value


DEMO_STAFF = (
    DemoPerson("owner", "owner", "Dr. Dana Whitfield", "owner"),
    DemoPerson("manager", "manager", "Priya Raman", "admin"),
    DemoPerson("practitioner", "dr.okafor", "Dr. Chidi Okafor", "practitioner"),
    DemoPerson("practitioner_2", "dr.lindqvist", "Dr. Sofia Lindqvist", "practitioner"),
    DemoPerson("assistant", "assistant", "Tomás Alvarez", "assistant"),
    DemoPerson("receptionist", "reception", "Grace Kim", "receptionist"),
    DemoPerson("billing", "billing", "Martin Novak", "billing"),
)


class DemoNotAllowed(Exception):
    """Demo data was asked for in production."""


@dataclass
class DemoSeed:
    """What seeders share: the clinic, and the demo staff by key once `seed_staff` ran;
    `summaries` collects each seeder's line."""

    clinic: Clinic
    people: dict[str, User] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)

    def logins(self) -> list[dict[str, str | None]]:
        """Each demo person's sign-in. `password` is None for an account that existed
        before the demo and kept its own password (the demo never changes a password)."""
        return [
            {
                "email": user.email,
                "full_name": user.full_name,
                "role": person.role,
                "password": DEMO_PASSWORD if user.check_password(DEMO_PASSWORD) else None,
            }
            for person in DEMO_STAFF
            if (user := self.people.get(person.key)) is not None
        ]


Seeder = Callable[[DemoSeed], str]


def demo_email(person: DemoPerson, subdomain: str) -> str:
    return f"{person.local_part}@{subdomain}.example"


def demo_allowed_check() -> None:
    from django.conf import settings

    if settings.IS_PRODUCTION:
        raise DemoNotAllowed("Demo data is for development only (DRCRM_ENV=production).")


def demo_user_ensure(*, email: str, full_name: str) -> tuple[User, bool]:
    """The account with `email`, made with DEMO_PASSWORD if there is none: (user, created)."""
    from shared_apps.accounts.models import User

    demo_allowed_check()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name), True


def demo_owner_ensure(*, email: str) -> User:
    """The owner of a clinic created with `clinic create --demo`: an account that signs in
    at once with DEMO_PASSWORD, instead of an emailed invite."""
    owner = next(p for p in DEMO_STAFF if p.key == "owner")
    user, _ = demo_user_ensure(email=email, full_name=owner.full_name)
    return user


def seed_staff(seed: DemoSeed) -> str:
    """One active membership per DEMO_STAFF person (reactivated, role put back if changed)."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership
    from tenant_apps.audit.services import audit_record

    added = 0
    for person in DEMO_STAFF:
        user, _ = demo_user_ensure(
            email=demo_email(person, seed.clinic.subdomain), full_name=person.full_name
        )
        seed.people[person.key] = user
        membership, created = Membership.objects.get_or_create(
            user=user, clinic=seed.clinic, defaults={"role": person.role}
        )
        changed = (membership.role, membership.is_active) != (person.role, True)
        if changed:
            membership.role, membership.is_active = person.role, True
            membership.save(update_fields=["role", "is_active"])
        if created or changed:
            added += 1
            with tenant_context(seed.clinic):
                audit_record(
                    actor=None,
                    action="membership.created" if created else "membership.updated",
                    target=membership,
                    details={"user": user.pk, "role": person.role},
                )
    return f"staff: {len(DEMO_STAFF)} people, {added} added or restored"


DEMO_FIRST_NAMES = [
    "Amelia",
    "Oliver",
    "Zoë",
    "Mateo",
    "Aisha",
    "Noah",
    "Siobhán",
    "Liam",
    "Chloé",
    "Yusuf",
    "Freya",
    "Arjun",
    "Léa",
    "Kwame",
    "Ingrid",
    "Tomás",
    "Mei",
    "Hugo",
    "Niamh",
    "Ravi",
]
DEMO_LAST_NAMES = [
    "Smith",
    "Núñez",
    "O'Connor",
    "Patel",
    "Müller",
    "Okafor",
    "Jones",
    "García",
    "Kowalski",
    "Nguyen",
    "Brown",
    "Dubois",
    "Ahmed",
    "Lindqvist",
    "Rossi",
    "Williams",
    "Kaur",
    "Sato",
]
DEMO_ALLERGIES = ["Penicillin", "Latex", "Ibuprofen", "Peanuts"]
DEMO_PATIENT_COUNT = 60
DEMO_REFERRAL = "Demo data"


def _demo_email_of(first: str, last: str, n: int) -> str:
    from tenant_apps.patients.services import search_normalise

    local = ".".join(
        "".join(ch for ch in search_normalise(part) if ch.isalnum()) for part in (first, last)
    )
    return f"{local}.{n}@example.com"


def seed_patients(seed: DemoSeed) -> str:
    """Sixty patients with realistic names, phones, birthdays, a few alerts and consents."""
    import datetime as dt
    import random

    from django_tenants.utils import tenant_context

    from tenant_apps.patients.models import Patient
    from tenant_apps.patients.services import PatientInput, consent_record, patient_create

    rng = random.Random(seed.clinic.subdomain)  # noqa: S311 -- demo data, same everywhere
    owner = seed.people.get("owner")
    added = 0
    with tenant_context(seed.clinic):
        if Patient.objects.filter(referral_source=DEMO_REFERRAL).exists():
            return "patients: already there"
        for n in range(DEMO_PATIENT_COUNT):
            first, last = rng.choice(DEMO_FIRST_NAMES), rng.choice(DEMO_LAST_NAMES)
            birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 30_000))
            patient = patient_create(
                actor=owner,
                data=PatientInput(
                    first_name=first,
                    last_name=last,
                    date_of_birth=birth,
                    sex=rng.choice(["female", "male", "unknown"]),
                    phone=f"+44 7911 {100000 + n:06d}",
                    email=_demo_email_of(first, last, n),
                    city=rng.choice(["London", "Leeds", "Bristol", "Glasgow"]),
                    country="GB",
                    referral_source=DEMO_REFERRAL,
                    allergies=rng.choice(DEMO_ALLERGIES) if n % 7 == 0 else "",
                ),
            )
            if n % 3 == 0:
                consent_record(
                    actor=owner,
                    patient=patient,
                    channel="whatsapp",
                    opted_in=True,
                    method="form",
                )
            added += 1
    return f"patients: {added} added"


# --- the calendar ------------------------------------------------------------------------------

DEMO_ROOMS = (("Surgery 1", "chair"), ("Surgery 2", "chair"), ("Hygiene room", "room"))
# name, minutes, buffer minutes, colour, price hint, rooms it needs (one of them)
DEMO_TYPES = (
    ("Check-up", 30, 0, "#0d9488", "45.00", ("Surgery 1", "Surgery 2")),
    ("Hygiene clean", 45, 15, "#9333ea", "65.00", ("Hygiene room",)),
    ("Filling", 60, 10, "#ea580c", "120.00", ("Surgery 1", "Surgery 2")),
    ("Consultation", 20, 0, "#2563eb", "30.00", ()),
    ("Emergency", 30, 0, "#dc2626", "80.00", ("Surgery 1", "Surgery 2")),
)
# DEMO_STAFF key, colour, types offered, weekdays worked (0 = Monday)
DEMO_PRACTITIONERS = (
    ("owner", "#0f766e", ("Check-up", "Filling", "Consultation", "Emergency"), (0, 1, 2, 3)),
    ("practitioner", "#1d4ed8", ("Check-up", "Filling", "Emergency"), (0, 1, 2, 3, 4)),
    ("practitioner_2", "#db2777", ("Check-up", "Hygiene clean", "Consultation"), (1, 2, 3, 4)),
)
DEMO_DAY = (("09:00", "12:30"), ("13:30", "17:30"))
# Days around today that get appointments, and how full a day is.
DEMO_DAYS_BEFORE, DEMO_DAYS_AFTER = 3, 4
DEMO_FULLNESS = 0.55


def _demo_calendar_resources(owner: User | None) -> dict[str, AppointmentType]:
    """The rooms and appointment types; returns the types by name."""
    from decimal import Decimal

    from tenant_apps.scheduling.services import (
        AppointmentTypeInput,
        appointment_type_create,
        room_create,
    )

    rooms = {name: room_create(actor=owner, name=name, kind=kind) for name, kind in DEMO_ROOMS}
    return {
        name: appointment_type_create(
            actor=owner,
            data=AppointmentTypeInput(
                name=name,
                default_duration_minutes=minutes,
                buffer_minutes=buffer,
                colour=colour,
                price_hint=Decimal(price),
                rooms=tuple(rooms[room] for room in needs),
            ),
        )
        for name, minutes, buffer, colour, price, needs in DEMO_TYPES
    }


def _demo_practitioners(seed: DemoSeed, types: dict[str, AppointmentType]) -> list[Practitioner]:
    """The demo clinicians on the calendar, each with a usual week with a lunch break."""
    import datetime as dt

    from tenant_apps.scheduling.services import practitioner_create, working_week_set

    owner = seed.people.get("owner")
    made = []
    for key, colour, offered, weekdays in DEMO_PRACTITIONERS:
        user = seed.people.get(key)
        if user is None:
            continue
        practitioner = practitioner_create(
            actor=owner,
            user=user,
            colour=colour,
            appointment_types=[types[name] for name in offered],
        )
        periods = [
            (day, dt.time.fromisoformat(starts), dt.time.fromisoformat(ends))
            for day in weekdays
            for starts, ends in DEMO_DAY
        ]
        working_week_set(actor=owner, practitioner=practitioner, periods=periods)
        made.append(practitioner)
    return made


def _demo_day_bookings(
    practitioner: Practitioner, day: dt.date, patients: list[Patient], rng: random.Random
) -> list[Appointment]:
    """One practitioner's day, about DEMO_FULLNESS full, through the booking service."""
    import contextlib
    import datetime as dt

    from tenant_apps.scheduling.clock import clinic_zone, local_datetime
    from tenant_apps.scheduling.services import (
        AppointmentConflict,
        BookingRequest,
        appointment_book,
    )

    zone = clinic_zone()
    offered = list(practitioner.appointment_types.all())
    booked = []
    for period in practitioner.working_periods.filter(weekday=day.weekday()):
        moment = local_datetime(day, period.starts, zone=zone)
        period_end = local_datetime(day, period.ends, zone=zone)
        while True:
            kind = rng.choice(offered)
            if moment + kind.default_duration > period_end:
                break
            if rng.random() < DEMO_FULLNESS:
                booking = BookingRequest(
                    patient=rng.choice(patients),
                    practitioner=practitioner,
                    appointment_type=kind,
                    starts_at=moment,
                )
                # The chairs are shared: when both are busy then, leave the gap.
                with contextlib.suppress(AppointmentConflict):
                    booked.append(appointment_book(actor=None, booking=booking))
            moment += kind.default_duration + kind.buffer
            moment += dt.timedelta(minutes=rng.choice([0, 0, 15]))
    return booked


def _demo_progress(appointment: Appointment, now: dt.datetime, rng: random.Random) -> None:
    """Move a demo appointment along as the front desk would have by now."""
    from tenant_apps.scheduling.services import appointment_cancel, appointment_status_change

    roll = rng.random()
    if roll < 0.06:
        appointment_cancel(actor=None, appointment=appointment, reason="Patient phoned")
        return
    if appointment.ends_at <= now:
        steps = ["no_show"] if roll < 0.1 else ["arrived", "completed"]
    elif appointment.starts_at <= now:
        steps = ["arrived", "in_progress"]
    else:
        steps = ["confirmed"] if roll < 0.5 else []
    for status in steps:
        appointment = appointment_status_change(
            actor=None, appointment=appointment, to_status=status
        )


def _demo_waitlist(
    practitioners: list[Practitioner],
    patients: list[Patient],
    upcoming: list[Appointment],
    rng: random.Random,
) -> None:
    """Three patients waiting; two later bookings cancelled, so their slots are offered."""
    from tenant_apps.scheduling.services import appointment_cancel
    from tenant_apps.scheduling.waitlist import WaitlistEntryInput, waitlist_entry_add

    for n, patient in enumerate(rng.sample(patients, k=min(3, len(patients)))):
        waitlist_entry_add(
            actor=None,
            data=WaitlistEntryInput(
                patient=patient,
                practitioner=practitioners[n % len(practitioners)] if n else None,
                note="Can come at short notice" if n == 0 else "",
            ),
        )
    for appointment in rng.sample(upcoming, k=min(2, len(upcoming))):
        appointment.refresh_from_db()
        if appointment.status in ("booked", "confirmed"):
            appointment_cancel(
                actor=None, appointment=appointment, reason="Patient asked to rebook"
            )


def seed_calendar(seed: DemoSeed) -> str:
    """Rooms, appointment types, three practitioners with their weeks, a week of
    appointments around today (past ones completed, a few cancelled or missed) and a short
    waitlist with offers for freed slots. Skipped if the clinic has a calendar already."""
    import datetime as dt
    import random

    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from tenant_apps.patients.models import Patient
    from tenant_apps.scheduling.clock import clinic_zone
    from tenant_apps.scheduling.models import AppointmentType, Practitioner, Room

    rng = random.Random(f"{seed.clinic.subdomain}-calendar")  # noqa: S311 -- demo data
    with tenant_context(seed.clinic):
        if any(model.objects.exists() for model in (Practitioner, Room, AppointmentType)):
            return "calendar: already there"
        types = _demo_calendar_resources(seed.people.get("owner"))
        practitioners = _demo_practitioners(seed, types)
        patients = list(Patient.objects.filter(is_archived=False).order_by("pk")[:60])
        if not patients or not practitioners:
            return "calendar: rooms and types only (no patients or staff to book)"
        now = timezone.now()
        today = now.astimezone(clinic_zone()).date()
        booked = [
            appointment
            for offset in range(-DEMO_DAYS_BEFORE, DEMO_DAYS_AFTER + 1)
            for practitioner in practitioners
            for appointment in _demo_day_bookings(
                practitioner, today + dt.timedelta(days=offset), patients, rng
            )
        ]
        for appointment in booked:
            _demo_progress(appointment, now, rng)
        upcoming = [a for a in booked if a.starts_at > now + dt.timedelta(days=1)]
        _demo_waitlist(practitioners, patients, upcoming, rng)
    return (
        f"calendar: {len(practitioners)} practitioners, {len(DEMO_ROOMS)} rooms, "
        f"{len(DEMO_TYPES)} types, {len(booked)} appointments"
    )


# Run in order by `clinic seed-demo`; later features append theirs (after seed_staff, so
# `seed.people` is filled).
DEMO_SEEDERS: list[Seeder] = [seed_staff, seed_patients, seed_calendar]


def demo_seed(*, clinic: Clinic) -> DemoSeed:
    """Fill `clinic` with the demo data of every seeder, in one transaction."""
    from django.db import transaction

    demo_allowed_check()
    seed = DemoSeed(clinic=clinic)
    with transaction.atomic():
        for seeder in DEMO_SEEDERS:
            seed.summaries.append(seeder(seed))
    return seed
