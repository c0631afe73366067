"""Clinic B's patients never reach clinic A: not in its list, its search or its export.

Both clinics get the same patients (same numbers, phones and emails), each carrying its
own clinic's marker, so only the schema can keep them apart.
"""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.patients.selectors import patients_search
from tenant_apps.patients.services import PatientInput, patient_create
from tests.isolation.markers import assert_no_marker, marker

pytestmark = pytest.mark.django_db


def seed(clinic, actor) -> list[str]:
    with tenant_context(clinic):
        return [
            patient_create(
                actor=actor,
                data=PatientInput(
                    first_name=marker(clinic, f"first{n}"),
                    last_name="Sharedname",
                    phone=f"+44 7911 12345{n}",
                    email=f"patient{n}@example.com",
                    front_desk_notes=marker(clinic, "notes"),
                ),
            ).number
            for n in range(3)
        ]


@pytest.fixture
def seeded(clinic_a, clinic_b, owner_a, outsider_b):
    numbers_a = seed(clinic_a, owner_a)
    numbers_b = seed(clinic_b, outsider_b)
    # The same numbers, phones and emails on both sides: only the schema separates them.
    assert numbers_a == numbers_b
    return marker(clinic_a), marker(clinic_b)


@pytest.mark.parametrize(
    "query",
    ["", "sharedname", "mark", "clinic-b", "P-000001", "1", "07911 123450", "patient0@example.com"],
)
def test_search_list_and_export_on_a_never_show_b(clinic_a, clinic_client, owner_a, seeded, query):
    _mark_a, mark_b = seeded
    client = clinic_client(clinic_a, owner_a)
    for params in ({"q": query}, {"q": query, "fragment": "1"}, {"q": query, "archived": "1"}):
        page = client.get("/patients/", params)
        assert page.status_code == 200
        assert_no_marker(page.content, mark_b)
    export = client.get("/patients/export.csv", {"q": query})
    assert export.status_code == 200
    assert_no_marker(b"".join(export.streaming_content), mark_b)
    with tenant_context(clinic_a):
        rows, total = patients_search(query=query, limit=100)
    assert all(mark_b not in p.first_name for p in rows)
    assert total == len(rows)


def test_a_finds_its_own_marked_patients(clinic_a, clinic_client, owner_a, seeded):
    mark_a, _ = seeded
    page = clinic_client(clinic_a, owner_a).get("/patients/", {"q": "sharedname"})
    assert page.content.decode().count(mark_a) == 3


def test_bs_session_sees_nothing_of_a(clinic_a, clinic_client, outsider_b, seeded):
    mark_a, _ = seeded
    # Oscar owns clinic B but has no membership in A: A's list is closed to him.
    response = clinic_client(clinic_a, outsider_b).get("/patients/", {"q": "sharedname"})
    assert response.status_code in (302, 403)
    assert_no_marker(response.content, mark_a)
