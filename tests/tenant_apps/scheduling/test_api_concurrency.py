"""Twenty people book the same slot at the same instant through the API: PostgreSQL lets
exactly one through, and the other nineteen hear who holds it (409), never a 500.

The requests run in twenty threads, each with its own database connection, so they must
see committed data: the test provisions a clinic of its own, commits its calendar, and
drops the whole clinic afterwards (its schema, audit rows included, goes with it), so no
other test ever sees any of it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context, tenant_context
from psycopg.types.range import Range

from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import Clinic
from tenant_apps.api_tokens.services import api_token_create
from tenant_apps.scheduling.models import Appointment
from tests import factories
from tests.support.committed import run_committed
from tests.support.scheduling import MONDAY, Calendar, calendar_setup
from tests.tenant_apps.api_tokens.helpers import with_token

pytestmark = pytest.mark.django_db

SUBDOMAIN = "booking-race"
RACERS = 20


@dataclass(frozen=True)
class Race:
    clinic: Clinic
    token: str
    booking: dict[str, Any]
    calendar: Calendar


def _drop_race_clinic() -> None:
    """Remove the race clinic and its people, if there (also a crashed run's leftovers)."""
    with schema_context("public"):
        for clinic in Clinic.objects.filter(subdomain=SUBDOMAIN):
            people = list(clinic.memberships.values_list("user_id", flat=True))
            clinic.delete(force_drop=True)
            User.objects.filter(pk__in=people, memberships__isnull=True).delete()


def _set_up(clinic: Clinic) -> Race:
    owner = Membership.objects.get(clinic=clinic, role=Role.OWNER).user
    colleague = factories.user_create(email=f"practitioner@{SUBDOMAIN}.example")
    factories.membership_add(user=colleague, clinic=clinic, role=Role.PRACTITIONER)
    with tenant_context(clinic):
        calendar = calendar_setup(pat_user=colleague, olivia_user=owner)
        _, token = api_token_create(actor=owner, name="race")
    booking = {
        "patient": calendar.patient.pk,
        "practitioner": calendar.pat.pk,
        "appointment_type": calendar.checkup.pk,
        "starts_at": "2031-03-03T10:00",
    }
    return Race(clinic=clinic, token=token, booking=booking, calendar=calendar)


@pytest.fixture
def race() -> Iterator[Race]:
    run_committed(_drop_race_clinic)
    clinic = run_committed(lambda: factories.clinic_make(subdomain=SUBDOMAIN))
    try:
        yield run_committed(lambda: _set_up(clinic))
    finally:
        run_committed(_drop_race_clinic)


def _book_at_once(race: Race) -> list[tuple[int, dict[str, Any]]]:
    """All racers post the same booking the moment the last of them is ready."""
    start = threading.Barrier(RACERS)
    results: list[Any] = [None] * RACERS

    def racer(index: int) -> None:
        client = with_token(race.clinic, race.token)
        try:
            start.wait(timeout=30)
            response = client.post("/api/v1/appointments/", race.booking, format="json")
            results[index] = (response.status_code, response.json())
        except BaseException as error:  # kept, so the assertion shows what went wrong
            results[index] = ("raised", repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=racer, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    return results


def _appointments_in(clinic: Clinic) -> list[tuple[int, str]]:
    with tenant_context(clinic):
        return list(Appointment.objects.values_list("pk", "status"))


def test_twenty_simultaneous_bookings_of_one_slot_let_exactly_one_through(race):
    results = _book_at_once(race)
    statuses = sorted(str(status) for status, _ in results)
    assert statuses == ["201"] + ["409"] * (RACERS - 1), results
    winner = next(body for status, body in results if status == 201)
    for status, body in results:
        if status == 409:
            error = body["error"]
            assert error["code"] == "slot_taken"
            assert error["conflict"]["id"] == winner["id"]
            assert error["conflict"]["starts_at"] == "2031-03-03T10:00:00+00:00"
    assert run_committed(lambda: _appointments_in(race.clinic)) == [(winner["id"], "booked")]


# --- a real deadlock -------------------------------------------------------------------------


def _hold(race: Race, practitioner_id: int, room_id: int) -> Appointment:
    """Insert a 10:00-10:30 appointment straight into the table (inside the caller's
    transaction), as a concurrent booking would."""
    start = race.calendar.at(MONDAY, 10).astimezone(dt.UTC)
    during = Range(start, start + dt.timedelta(minutes=30), "[)")
    return Appointment.objects.create(
        patient_id=race.calendar.other_patient.pk,
        practitioner_id=practitioner_id,
        room_id=room_id,
        appointment_type_id=race.calendar.checkup.pk,
        during=during,
        occupied=during,
    )


def _first_checked_constraint(race: Race) -> str:
    """PostgreSQL inserts into (and checks) a table's indexes in OID order."""
    with tenant_context(race.clinic), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'scheduling_appointment'::regclass "
            "AND c.relname LIKE 'appointment_%%_no_overlap' ORDER BY i.indexrelid"
        )
        return str(cursor.fetchone()[0])


def _wait_until_someone_waits_for_a_lock() -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # The test's open transaction would otherwise keep reading one snapshot.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("the API booking never waited for the other transaction")


def test_a_booking_aborted_to_break_a_deadlock_is_retried_into_a_409(race):
    """A deadlock between the API booking and another transaction costs a retry, not a 500.

    The API books Dr Pat at 10:00 and takes chair 1 (nothing committed is in the way).
    Its row enters the first exclusion index, then waits in the second for an uncommitted
    appointment of the other transaction. That transaction then inserts a row clashing
    with the API's entry in the first index, so each waits for the other. PostgreSQL
    breaks the deadlock by aborting the API's transaction (the other side was told to wait
    longer before checking); the API books again, meets the now committed rows: 409.
    """
    calendar = race.calendar
    pat, olivia = calendar.pat.pk, calendar.olivia.pk
    chair_1, chair_2 = calendar.chair_1.pk, calendar.chair_2.pk
    if run_committed(lambda: _first_checked_constraint(race)).startswith(
        "appointment_practitioner"
    ):
        first, second = (olivia, chair_1), (pat, chair_2)  # wait on the room, then Pat
    else:
        first, second = (pat, chair_2), (olivia, chair_1)  # wait on Pat, then the room
    api_is_waiting = threading.Event()
    held: list[Any] = []

    def other_transaction() -> None:
        try:
            with tenant_context(race.clinic), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL deadlock_timeout = '20s'")
                held.append(_hold(race, *first))
                assert api_is_waiting.wait(timeout=30)
                held.append(_hold(race, *second))
        except BaseException as error:
            held.append(error)
        finally:
            connections.close_all()

    answer: list[Any] = []

    def book() -> None:
        try:
            response = with_token(race.clinic, race.token).post(
                "/api/v1/appointments/", race.booking, format="json"
            )
            answer.append((response.status_code, response.json()))
        except BaseException as error:
            answer.append(("raised", repr(error)))
        finally:
            connections.close_all()

    holder = threading.Thread(target=other_transaction)
    holder.start()
    deadline = time.monotonic() + 20
    while not held and time.monotonic() < deadline:
        time.sleep(0.01)
    booker = threading.Thread(target=book)
    booker.start()
    try:
        _wait_until_someone_waits_for_a_lock()
    finally:
        api_is_waiting.set()
        holder.join(timeout=60)
        booker.join(timeout=60)
    assert len(held) == 2, held
    assert all(isinstance(row, Appointment) for row in held), held
    [(status, body)] = answer
    assert status == 409, body
    assert body["error"]["conflict"]["id"] in {row.pk for row in held}
    assert sorted(pk for pk, _ in run_committed(lambda: _appointments_in(race.clinic))) == sorted(
        row.pk for row in held
    )
