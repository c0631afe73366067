"""Clinic B's patients never reach clinic A through `/api/v1/patients/`.

Both clinics are seeded alike, each record carrying its clinic's marker; B has more
records than A, so some of B's ids exist only in B. A's session and A's token list, search
and open records: B's marker never appears and B's extra ids are 404.
"""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.patients.models import Patient
from tenant_apps.patients.services import PatientInput, patient_create
from tests.isolation.markers import assert_no_marker, marker
from tests.tenant_apps.api_tokens.helpers import token_for, with_token

pytestmark = pytest.mark.django_db


def seed(clinic: Any, count: int) -> list[Patient]:
    label = marker(clinic)
    with tenant_context(clinic):
        return [
            patient_create(
                actor=None,
                data=PatientInput(
                    first_name=f"{label}-first",
                    last_name=f"{label}-last{n}",
                    email=f"{clinic.subdomain}{n}@example.com",
                    front_desk_notes=label,
                    allergies=label,
                ),
            )
            for n in range(count)
        ]


@pytest.fixture
def seeded(clinic_a, clinic_b):
    return seed(clinic_a, 2), seed(clinic_b, 4)


@pytest.fixture(params=["session", "token"])
def a_client(request, api_client, clinic_a, owner_a):
    if request.param == "session":
        return api_client(clinic_a, owner_a)
    return with_token(clinic_a, token_for(clinic_a, owner_a))


def test_a_lists_only_its_own_patients(a_client, seeded, clinic_b):
    a_patients, _ = seeded
    for params in ({}, {"archived": "all"}, {"page_size": 200}, {"ordering": "-number"}):
        response = a_client.get("/api/v1/patients/", params)
        assert response.status_code == 200
        assert response.json()["count"] == len(a_patients)
        assert_no_marker(response.content, marker(clinic_b))


def test_a_searching_for_bs_marker_finds_nothing(a_client, seeded, clinic_b):
    for q in (marker(clinic_b), "clinic-b", "clinic-b3@example.com", "P-000004"):
        response = a_client.get("/api/v1/patients/", {"q": q})
        assert response.status_code == 200
        assert response.json()["results"] == []
        assert_no_marker(response.content, marker(clinic_b))


def test_bs_ids_are_404_for_a(a_client, seeded, clinic_b):
    a_patients, b_patients = seeded
    # Each schema numbers its own ids; some of B's may equal A's, the others exist only in B.
    only_in_b = [p for p in b_patients if p.pk not in {a.pk for a in a_patients}]
    assert len(only_in_b) >= 2
    for patient in only_in_b:
        for suffix in ("", "consents/"):
            response = a_client.get(f"/api/v1/patients/{patient.pk}/{suffix}")
            assert response.status_code == 404
        for action in ("archive/", "restore/"):
            assert a_client.post(f"/api/v1/patients/{patient.pk}/{action}").status_code == 404
        patched = a_client.patch(f"/api/v1/patients/{patient.pk}/", {"city": "X"}, format="json")
        assert patched.status_code == 404
    with tenant_context(clinic_b):
        assert not Patient.objects.filter(city="X").exists()
        assert not Patient.objects.filter(is_archived=True).exists()


def test_a_opens_its_own_records_and_nothing_of_b(a_client, seeded, clinic_b):
    a_patients, _ = seeded
    response = a_client.get(f"/api/v1/patients/{a_patients[0].pk}/")
    assert response.status_code == 200
    assert response.json()["first_name"] == a_patients[0].first_name
    assert_no_marker(response.content, marker(clinic_b))
