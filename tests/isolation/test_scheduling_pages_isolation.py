"""Clinic B's calendar never reaches clinic A's calendar pages, and B's ids are 404 on A.

Both clinics get the same calendar (same practitioners, rooms, types and patients, so ids
collide); every name in B carries "MARK-B". Only the schema keeps them apart.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tenant_apps.scheduling.models import Appointment, Practitioner
from tests.factories import membership_add, user_create
from tests.isolation.markers import assert_no_marker
from tests.support.scheduling import MONDAY, Calendar, calendar_setup

pytestmark = pytest.mark.django_db

MARK_B = "MARK-B"
DAY = MONDAY.isoformat()


@pytest.fixture
def calendar_a(clinic_a, practitioner_a, owner_a) -> Iterator[Calendar]:
    with tenant_context(clinic_a):
        yield calendar_setup(pat_user=practitioner_a, olivia_user=owner_a)


@pytest.fixture
def calendar_b(clinic_b, outsider_b) -> Calendar:
    colleague = user_create(email="practitioner@clinic-b.example", full_name="Bea B")
    membership_add(user=colleague, clinic=clinic_b, role=Role.PRACTITIONER)
    with tenant_context(clinic_b):
        return calendar_setup(pat_user=colleague, olivia_user=outsider_b, marker=MARK_B)


@pytest.fixture
def seeded(calendar_a, calendar_b, clinic_a, clinic_b):
    """A has one appointment; B has three at the same times (two of them on ids A lacks)."""
    with tenant_context(clinic_a):
        mine = calendar_a.book()
        ids_a = set(Appointment.objects.values_list("pk", flat=True))
    with tenant_context(clinic_b):
        theirs = [
            calendar_b.book(),
            calendar_b.book(practitioner=calendar_b.olivia, patient=calendar_b.other_patient),
            calendar_b.book(starts_at=calendar_b.at(MONDAY, 14)),
        ]
    only_b = [appointment.pk for appointment in theirs if appointment.pk not in ids_a]
    assert only_b, "clinic B needs an appointment id that clinic A lacks"
    return mine, theirs, only_b


def test_as_calendar_pages_never_show_b(
    seeded, clinic_a, clinic_b, clinic_client, owner_a, outsider_b, calendar_a
):
    mine, _theirs, _ = seeded
    # The marker is there to find: B's own calendar shows it.
    own = clinic_client(clinic_b, outsider_b).get("/calendar/", {"date": DAY})
    assert MARK_B in own.content.decode()
    client = clinic_client(clinic_a, owner_a)
    pages = [
        ("/calendar/", {"date": DAY}),
        ("/calendar/", {"date": DAY, "by": "room"}),
        ("/calendar/", {"date": DAY, "fragment": "1"}),
        ("/calendar/week/", {"date": DAY}),
        ("/calendar/week/", {"date": DAY, "practitioner": calendar_a.pat.pk}),
        ("/calendar/today/", {}),
        ("/calendar/book/", {"practitioner": calendar_a.pat.pk, "date": DAY}),
        ("/calendar/book/patients/", {"q": "mark"}),
        ("/calendar/book/patients/", {"q": "ana"}),
        (f"/calendar/appointments/{mine.pk}/", {}),
        (f"/patients/{calendar_a.patient.pk}/", {}),
    ]
    for path, params in pages:
        response = client.get(path, params)
        assert response.status_code == 200, (path, response.status_code)
        assert_no_marker(response.content, MARK_B)
    # A's own appointment is there (the pages are not simply empty).
    day = client.get("/calendar/", {"date": DAY}).content.decode()
    assert f'data-testid="appt-{mine.pk}"' in day


def test_bs_appointment_ids_are_404_on_a(seeded, clinic_a, clinic_client, owner_a, calendar_a):
    _mine, _theirs, only_b = seeded
    client = clinic_client(clinic_a, owner_a)
    for pk in only_b:
        assert client.get(f"/calendar/appointments/{pk}/").status_code == 404
        posts = {
            "status": {"to_status": "arrived"},
            "move": {"starts_at": calendar_a.at(MONDAY, 15).isoformat()},
            "reschedule": {"date": DAY, "time": "15:00", "practitioner": calendar_a.pat.pk},
            "cancel": {"reason": "MARK-A"},
            "notes": {"front_desk_notes": "MARK-A"},
        }
        for action, data in posts.items():
            response = client.post(f"/calendar/appointments/{pk}/{action}/", data)
            assert response.status_code == 404, (action, response.status_code)
            assert_no_marker(response.content, MARK_B)


def test_bs_practitioner_ids_never_open_bs_week_on_a(
    seeded, clinic_a, clinic_b, clinic_client, owner_a
):
    with tenant_context(clinic_b):
        b_ids = set(Practitioner.objects.values_list("pk", flat=True))
    with tenant_context(clinic_a):
        a_ids = set(Practitioner.objects.values_list("pk", flat=True))
    client = clinic_client(clinic_a, owner_a)
    for pk in b_ids:
        response = client.get("/calendar/week/", {"practitioner": pk, "date": DAY})
        # An id both clinics use is A's own practitioner there; any other is not found.
        assert response.status_code == (200 if pk in a_ids else 404)
        assert_no_marker(response.content, MARK_B)


def test_bs_owner_cannot_open_as_calendar(seeded, clinic_a, clinic_client, outsider_b):
    mine, _, _ = seeded
    client = clinic_client(clinic_a, outsider_b)
    for path in ("/calendar/", "/calendar/today/", f"/calendar/appointments/{mine.pk}/"):
        response = client.get(path)
        assert response.status_code in (302, 403), path
        assert "Ana Lima" not in response.content.decode()
