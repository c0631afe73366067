"""The calendar's week view (one practitioner, a column a day) with a quiet and a busy week.

Two clinics (made by `clinic_create`), the same practitioner and working week (every day
07:00-20:00) in both; one has 50 appointments that week, the other 500 (ten-minute
appointments back to back, inserted straight in: the exclusion constraints still check
each row). The page is requested as a signed-in receptionist would
(`GET /calendar/week/?practitioner=..&date=..` on the clinic's host), in turns so that a
change of load on the machine weighs on both alike.
Budgets:
- the median for 500 appointments is at most 2x the median for 50;
- the page runs the same number of queries for both (none per appointment).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import zoneinfo
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from psycopg.types.range import Range

from bench.support import bench_clinic
from shared_apps.accounts.models import User
from tenant_apps.patients.models import Patient
from tenant_apps.patients.services import PatientInput, patient_create
from tenant_apps.scheduling.models import Appointment, AppointmentType
from tenant_apps.scheduling.services import (
    AppointmentTypeInput,
    appointment_type_create,
    practitioner_create,
    working_week_set,
)

QUIET = 50
BUSY = 500
ROUNDS = 21
GROWTH_BUDGET = 2.0
MONDAY = dt.date(2031, 3, 3)
ZONE = zoneinfo.ZoneInfo("Europe/London")
SLOT = dt.timedelta(minutes=10)
FIRST = dt.time(7)
PATIENTS = [
    ("Oliver", "Smith"),
    ("Amelia", "Jones"),
    ("George", "Taylor"),
    ("Isla", "Brown"),
    ("Noah", "Williams"),
    ("Ava", "Wilson"),
    ("Leo", "Johnson"),
    ("Mia", "Davies"),
    ("Arthur", "Robinson"),
    ("Zoë", "Wright"),
    ("Muhammad", "Khan"),
    ("Grace", "Patel"),
    ("Oscar", "Evans"),
    ("Freya", "Walker"),
    ("Henry", "Thompson"),
    ("Ivy", "O'Brien"),
    ("Theo", "Nguyen"),
    ("Florence", "Okafor"),
    ("Archie", "García"),
    ("Sophie", "Müller"),
]


def _seed(owner: User, count: int) -> int:
    """A practitioner working 07:00-20:00 every day, and `count` appointments in the week
    of MONDAY; returns the practitioner's id."""
    visit = appointment_type_create(
        actor=None, data=AppointmentTypeInput(name="Review", default_duration_minutes=10)
    )
    practitioner = practitioner_create(
        actor=None, user=owner, display_name="Dr Bench", appointment_types=[visit]
    )
    working_week_set(
        actor=None,
        practitioner=practitioner,
        periods=[(weekday, dt.time(7), dt.time(20)) for weekday in range(7)],
    )
    patients = [
        patient_create(actor=None, data=PatientInput(first_name=first, last_name=last))
        for first, last in PATIENTS
    ]
    Appointment.objects.bulk_create(
        _appointment(n, practitioner.pk, visit, patients) for n in range(count)
    )
    return practitioner.pk


def _appointment(
    n: int, practitioner_id: int, visit: AppointmentType, patients: list[Patient]
) -> Appointment:
    day = MONDAY + dt.timedelta(days=n % 7)
    starts = dt.datetime.combine(day, FIRST, tzinfo=ZONE) + SLOT * (n // 7)
    during = Range(starts, starts + SLOT, "[)")
    return Appointment(
        patient=patients[n % len(patients)],
        practitioner_id=practitioner_id,
        appointment_type=visit,
        during=during,
        occupied=during,
        status=("booked", "confirmed", "arrived", "completed")[n % 4],
    )


def _site(owner: User, subdomain: str, count: int) -> tuple[Client, int]:
    clinic, client = bench_clinic(owner, subdomain)
    with tenant_context(clinic):
        practitioner_id = _seed(owner, count)
    return client, practitioner_id


def _page(client: Client, practitioner_id: int) -> Callable[[], str]:
    def call() -> str:
        response = client.get(
            "/calendar/week/", {"practitioner": practitioner_id, "date": MONDAY.isoformat()}
        )
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    return call


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _queries(page: Callable[[], str]) -> tuple[int, int]:
    """(queries the page runs, appointment blocks it draws)."""
    with CaptureQueriesContext(connection) as captured:
        html = page()
    return len(captured), html.count('class="cal-block')


def run() -> tuple[str, bool]:
    owner = User.objects.create_user("bench-calendar@example.com", "bench-pass-1234")
    pages = {
        QUIET: _page(*_site(owner, "bench-week-50", QUIET)),
        BUSY: _page(*_site(owner, "bench-week-500", BUSY)),
    }
    samples: dict[int, list[float]] = {size: [] for size in pages}
    for round_ in range(ROUNDS + 1):
        for size, page in pages.items():
            elapsed = _timed(page)
            if round_:  # the first round warms caches and connections
                samples[size].append(elapsed)
    medians = {size: statistics.median(times) for size, times in samples.items()}
    counts = {size: _queries(page) for size, page in pages.items()}

    print(f"\nCalendar week view, one practitioner (median of {ROUNDS} requests)")
    print(f"{'appointments':>12}{'median':>10}{'queries':>9}{'blocks':>8}")
    for size in pages:
        queries, blocks = counts[size]
        print(f"{size:>12}{medians[size] * 1e3:>8.2f}ms{queries:>9}{blocks:>8}")
    growth = medians[BUSY] / medians[QUIET]
    same_queries = counts[BUSY][0] == counts[QUIET][0]
    all_drawn = counts[BUSY][1] == BUSY and counts[QUIET][1] == QUIET
    print(f"{BUSY} vs {QUIET} appointments: {growth:.2f}x (budget <= {GROWTH_BUDGET}x)")
    print(f"queries: {'the same' if same_queries else 'DIFFERENT'} for both weeks")
    ok = growth <= GROWTH_BUDGET and same_queries and all_drawn
    return "calendar week", ok
