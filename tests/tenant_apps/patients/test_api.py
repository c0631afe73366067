"""`/api/v1/patients/`: CRUD, consent, filters, ordering, pages, duplicates, who sees what."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.models import ConsentEvent, Patient
from tenant_apps.patients.services import PatientInput, patient_archive, patient_create
from tests import factories
from tests.tenant_apps.api_tokens.helpers import token_for, with_token

pytestmark = pytest.mark.django_db

MOBILE = "+447911123456"
CLINICAL_ROLES = {Role.OWNER, Role.PRACTITIONER, Role.ASSISTANT}
MANAGE_ROLES = {Role.OWNER, Role.ADMIN, Role.PRACTITIONER, Role.ASSISTANT, Role.RECEPTIONIST}


def make_patient(clinic: Any, **fields: Any) -> Patient:
    values = {"first_name": "Zoë", "last_name": "Núñez", **fields}
    with tenant_context(clinic):
        return patient_create(actor=None, data=PatientInput(**values))


def person_with(clinic: Any, role: str) -> Any:
    user = factories.user_create(email=f"{role}-{clinic.subdomain}@example.com")
    factories.membership_add(user=user, clinic=clinic, role=role)
    return user


@pytest.fixture
def as_role(api_client, clinic_a, owner_a):
    """`as_role(role)`: an API client signed in to clinic A as someone with that role."""

    def client(role: str) -> Any:
        user = owner_a if role == Role.OWNER else person_with(clinic_a, role)
        return api_client(clinic_a, user)

    return client


@pytest.fixture
def owner(api_client, clinic_a, owner_a):
    return api_client(clinic_a, owner_a)


def events(clinic: Any, action: str, patient_id: int) -> list[AuditEvent]:
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action, target_id=str(patient_id)))


# --- create ------------------------------------------------------------------------------------


def test_create_numbers_the_record_and_stores_the_phone_as_e164(owner, clinic_a):
    response = owner.post(
        "/api/v1/patients/",
        {"first_name": "Ada", "last_name": "Lovelace", "phone": "07911 123456"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("P-")
    assert len(body["number"]) == 8
    assert body["phone"] == MOBILE
    assert body["allergies"] == ""
    assert body["has_alerts"] is False
    assert events(clinic_a, "patient.created", body["id"])


def test_create_answers_a_field_map_and_saves_nothing(owner, clinic_a):
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = owner.post(
        "/api/v1/patients/",
        {"first_name": "Ada", "last_name": " ", "phone": "12", "date_of_birth": future},
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) >= {"phone", "date_of_birth", "last_name"}
    with tenant_context(clinic_a):
        assert not Patient.objects.filter(first_name="Ada").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "A\x00b", "last_name": "B"}, "first_name"),
        ({"first_name": "A", "last_name": "x" * 100_000}, "last_name"),
        (
            {"first_name": "A", "last_name": "B", "front_desk_notes": "x" * 100_000},
            "front_desk_notes",
        ),
        ({"first_name": ["A"], "last_name": "B"}, "first_name"),
        ({"first_name": "A", "last_name": "B", "date_of_birth": "14/03/1987"}, "date_of_birth"),
        ({"first_name": "A", "last_name": "B", "sex": "x" * 100_000}, "sex"),
        ({"first_name": "A", "last_name": "B", "phone": "9" * 100_000}, "phone"),
        ({"first_name": "A", "last_name": "B", "email": "a\x00b@example.com"}, "email"),
        ({"first_name": "A", "last_name": "B", "country": "GBR"}, "country"),
    ],
)
def test_hostile_input_is_a_400_field_map(owner, body, field):
    response = owner.post("/api/v1/patients/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "null"])
def test_a_body_that_is_not_a_json_object_is_a_400(owner, raw):
    response = owner.post("/api/v1/patients/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("parse_error", "invalid")


@pytest.mark.parametrize(
    "body",
    [
        {"city": "\x00"},
        {"city": "x" * 100_000},
        {"allergies": "x" * 100_000},
        {"phone": ["07911 123456"]},
        {"date_of_birth": {"x": None}},
        {"first_name": None},
    ],
)
def test_hostile_edits_are_a_400_and_change_nothing(owner, clinic_a, body):
    patient = make_patient(clinic_a, city="London")
    for method in (owner.patch, owner.put):
        response = method(f"/api/v1/patients/{patient.pk}/", body, format="json")
        assert response.status_code == 400, (method, response.content)
        assert response.json()["error"]["fields"]
    for raw in ("{not json", "[]", '"x"'):
        response = owner.patch(
            f"/api/v1/patients/{patient.pk}/", raw, content_type="application/json"
        )
        assert response.status_code == 400
    with tenant_context(clinic_a):
        patient.refresh_from_db()
    assert patient.city == "London"


def test_markup_in_names_is_stored_as_text_and_returned_as_json(owner):
    name = "<script>alert(1)</script>"
    response = owner.post(
        "/api/v1/patients/", {"first_name": name, "last_name": "B"}, format="json"
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["first_name"] == name


def test_a_likely_duplicate_is_a_409_until_confirmed(owner, clinic_a):
    first = make_patient(clinic_a, phone=MOBILE)
    same_dob = make_patient(
        clinic_a, first_name="Ann", last_name="Lee", date_of_birth=dt.date(1990, 1, 2)
    )
    again = {"first_name": "Someone", "last_name": "Else", "phone": "07911 123456"}
    response = owner.post("/api/v1/patients/", again, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "possible_duplicate"
    assert body["duplicates"] == [{"id": first.pk, "number": first.number}]
    by_name = {"first_name": "ANN", "last_name": "lee", "date_of_birth": "1990-01-02"}
    response = owner.post("/api/v1/patients/", by_name, format="json")
    assert response.status_code == 409
    assert [d["id"] for d in response.json()["duplicates"]] == [same_dob.pk]
    with tenant_context(clinic_a):
        assert Patient.objects.count() == 2
    confirmed = owner.post("/api/v1/patients/", {**again, "confirm_duplicate": True}, format="json")
    assert confirmed.status_code == 201


def test_field_errors_come_before_the_duplicate_question(owner, clinic_a):
    make_patient(clinic_a, phone=MOBILE)
    response = owner.post(
        "/api/v1/patients/", {"first_name": "", "last_name": "X", "phone": MOBILE}, format="json"
    )
    assert response.status_code == 400


# --- retrieve, update, archive -----------------------------------------------------------------


def test_opening_a_record_is_audited_with_who_opened_it(api_client, clinic_a, receptionist_a):
    patient = make_patient(clinic_a)
    client = api_client(clinic_a, receptionist_a)
    response = client.get(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 200
    assert response.json()["number"] == patient.number
    viewed = events(clinic_a, "patient.viewed", patient.pk)
    assert [e.actor_id for e in viewed] == [receptionist_a.pk]
    assert viewed[0].source == "api"


def test_listing_does_not_audit_each_row(owner, clinic_a):
    patient = make_patient(clinic_a)
    assert owner.get("/api/v1/patients/").status_code == 200
    assert events(clinic_a, "patient.viewed", patient.pk) == []


@pytest.mark.parametrize("path", ["999999999", "0", "9" * 30, "abc", "-1", "1.5"])
def test_unknown_or_junk_ids_are_404(owner, path):
    for suffix in ("", "archive/", "restore/", "consents/"):
        response = owner.get(f"/api/v1/patients/{path}/{suffix}")
        assert response.status_code in (404, 405), (suffix, response.status_code)
    response = owner.get(f"/api/v1/patients/{path}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_patch_changes_only_the_fields_sent(owner, clinic_a):
    patient = make_patient(clinic_a, phone=MOBILE, city="London", allergies="Latex")
    response = owner.patch(f"/api/v1/patients/{patient.pk}/", {"city": "Leeds"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["city"], body["phone"], body["allergies"]) == ("Leeds", MOBILE, "Latex")
    assert events(clinic_a, "patient.updated", patient.pk)[0].details == {"fields": ["city"]}


def test_put_replaces_the_record(owner, clinic_a):
    patient = make_patient(clinic_a, phone=MOBILE, city="London")
    response = owner.put(
        f"/api/v1/patients/{patient.pk}/",
        {"first_name": "Zoe", "last_name": "Nunez"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["city"], response.json()["phone"]) == ("", "")
    missing = owner.put(f"/api/v1/patients/{patient.pk}/", {"city": "X"}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["error"]["fields"]) == {"first_name", "last_name"}


def test_update_errors_are_a_field_map(owner, clinic_a):
    patient = make_patient(clinic_a)
    response = owner.patch(
        f"/api/v1/patients/{patient.pk}/", {"phone": "not a phone"}, format="json"
    )
    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]


def test_archive_and_restore(owner, clinic_a):
    patient = make_patient(clinic_a)
    archived = owner.post(f"/api/v1/patients/{patient.pk}/archive/")
    assert archived.status_code == 200
    assert archived.json()["is_archived"] is True
    assert owner.get("/api/v1/patients/").json()["count"] == 0
    restored = owner.post(f"/api/v1/patients/{patient.pk}/restore/")
    assert restored.json()["is_archived"] is False
    assert owner.get("/api/v1/patients/").json()["count"] == 1
    assert events(clinic_a, "patient.archived", patient.pk)
    assert events(clinic_a, "patient.restored", patient.pk)


# --- list: filters, ordering, pages ------------------------------------------------------------


@pytest.fixture
def three(clinic_a):
    a = make_patient(clinic_a, first_name="Amy", last_name="Zed", sex="female", allergies="Nuts")
    b = make_patient(
        clinic_a, first_name="Bob", last_name="Young", sex="male", date_of_birth=dt.date(1980, 5, 6)
    )
    c = make_patient(clinic_a, first_name="Cai", last_name="Xu", medical_alerts="Pacemaker")
    with tenant_context(clinic_a):
        patient_archive(actor=None, patient=c)
    return a, b, c


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_filters(owner, three):
    a, b, c = three
    url = "/api/v1/patients/"
    assert ids(owner.get(url)) == [b.pk, a.pk]
    assert ids(owner.get(url, {"archived": "true"})) == [c.pk]
    assert set(ids(owner.get(url, {"archived": "all"}))) == {a.pk, b.pk, c.pk}
    assert ids(owner.get(url, {"has_alerts": "true"})) == [a.pk]
    assert ids(owner.get(url, {"has_alerts": "true", "archived": "all"})) == [c.pk, a.pk]
    assert ids(owner.get(url, {"has_alerts": "false"})) == [b.pk]
    assert ids(owner.get(url, {"date_of_birth": "1980-05-06"})) == [b.pk]
    assert ids(owner.get(url, {"sex": "female"})) == [a.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "national_id"}, "ordering"),
        ({"ordering": "-search_text"}, "ordering"),
        ({"archived": "maybe"}, "archived"),
        ({"has_alerts": "\x00"}, "has_alerts"),
        ({"date_of_birth": "yesterday"}, "date_of_birth"),
        ({"sex": "x" * 100_000}, "sex"),
        ({"q": "x" * 100_000}, "q"),
    ],
)
def test_bad_list_parameters_are_a_400(owner, params, field):
    response = owner.get("/api/v1/patients/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_ordering(owner, three):
    a, b, _ = three
    url = "/api/v1/patients/"
    assert ids(owner.get(url, {"ordering": "last_name"})) == [b.pk, a.pk]
    assert ids(owner.get(url, {"ordering": "-last_name"})) == [a.pk, b.pk]
    assert ids(owner.get(url, {"ordering": "number"})) == [a.pk, b.pk]
    assert ids(owner.get(url, {"ordering": "-number"})) == [b.pk, a.pk]
    assert ids(owner.get(url, {"ordering": "created_at"})) == [a.pk, b.pk]
    assert ids(owner.get(url, {"ordering": "-created_at"})) == [b.pk, a.pk]
    assert ids(owner.get(url, {"ordering": "date_of_birth"})) == [b.pk, a.pk]  # no date: last


def test_pagination(owner, clinic_a):
    made = [make_patient(clinic_a, last_name=f"Page{n:02d}") for n in range(5)]
    first = owner.get("/api/v1/patients/", {"page_size": 2})
    body = first.json()
    assert body["count"] == 5
    assert [r["id"] for r in body["results"]] == [p.pk for p in made[:2]]
    assert body["previous"] is None
    assert "page=2" in body["next"]
    last = owner.get("/api/v1/patients/", {"page_size": 2, "page": 3}).json()
    assert [r["id"] for r in last["results"]] == [made[4].pk]
    assert last["next"] is None
    assert last["previous"]
    for page in ("4", "0", "-1", "abc", "9" * 30):
        response = owner.get("/api/v1/patients/", {"page_size": 2, "page": page})
        assert response.status_code == 404, page


@pytest.mark.parametrize("params", [{}, {"q": "q1"}, {"has_alerts": "false", "archived": "all"}])
def test_the_list_costs_the_same_queries_whatever_the_page_size(owner, clinic_a, params):
    for n in range(30):
        make_patient(clinic_a, last_name=f"Q{n:02d}")
    assert owner.get("/api/v1/patients/", {"page_size": 2, **params}).status_code == 200
    with CaptureQueriesContext(connection) as two:
        small = owner.get("/api/v1/patients/", {"page_size": 2, **params})
    with CaptureQueriesContext(connection) as thirty:
        large = owner.get("/api/v1/patients/", {"page_size": 30, **params})
    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) >= 10
    assert len(thirty.captured_queries) == len(two.captured_queries)


def test_search_finds_by_name_and_number(owner, clinic_a):
    ada = make_patient(clinic_a, first_name="Ada", last_name="Lovelace")
    make_patient(clinic_a, first_name="Grace", last_name="Hopper")
    assert ids(owner.get("/api/v1/patients/", {"q": "lovel"})) == [ada.pk]
    assert ids(owner.get("/api/v1/patients/", {"q": ada.number})) == [ada.pk]


def test_search_combines_with_filters_ordering_and_pages(owner, clinic_a):
    ann = make_patient(clinic_a, first_name="Ann", last_name="Smith", sex="female")
    make_patient(clinic_a, first_name="Andy", last_name="Smith", sex="male")
    old = make_patient(clinic_a, first_name="Anna", last_name="Smith", sex="female")
    with tenant_context(clinic_a):
        patient_archive(actor=None, patient=old)
    url = "/api/v1/patients/"
    assert ids(owner.get(url, {"q": "smith", "sex": "female"})) == [ann.pk]
    assert ids(owner.get(url, {"q": "smith", "archived": "true"})) == [old.pk]
    both = owner.get(url, {"q": "smith", "sex": "female", "archived": "all", "ordering": "-number"})
    assert ids(both) == [old.pk, ann.pk]
    page = owner.get(url, {"q": "smith", "page_size": 1, "page": 2, "ordering": "number"}).json()
    assert page["count"] == 2
    assert len(page["results"]) == 1


# --- consent -----------------------------------------------------------------------------------


def test_consent_answers_and_history(owner, clinic_a):
    patient = make_patient(clinic_a)
    url = f"/api/v1/patients/{patient.pk}/consents/"
    empty = owner.get(url).json()
    assert [(c["channel"], c["opted_in"]) for c in empty["current"]] == [
        ("whatsapp", False),
        ("sms", False),
        ("email", False),
    ]
    assert empty["history"] == []
    no_method = owner.post(url, {"channel": "sms", "opted_in": True}, format="json")
    assert no_method.status_code == 400
    assert "method" in no_method.json()["error"]["fields"]
    opted_in = owner.post(
        url, {"channel": "sms", "opted_in": True, "method": "form"}, format="json"
    )
    assert opted_in.status_code == 201
    assert opted_in.json()["opted_in"] is True
    opted_out = owner.post(
        url, {"channel": "sms", "opted_in": False, "note": "Asked to stop."}, format="json"
    )
    assert opted_out.status_code == 201
    body = owner.get(url).json()
    assert {c["channel"]: c["opted_in"] for c in body["current"]}["sms"] is False
    assert [(h["opted_in"], h["note"]) for h in body["history"]] == [
        (False, "Asked to stop."),
        (True, ""),
    ]
    assert body["history"][0]["recorded_by_email"] == "owner@clinic-a.example"
    assert events(clinic_a, "patient.consent_recorded", patient.pk)


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "pigeon", "opted_in": True, "method": "form"},
        {"channel": "sms", "opted_in": "perhaps"},
        {"channel": "sms", "opted_in": False, "note": "x" * 100_000},
        {"channel": "sms\x00", "opted_in": False},
        {"channel": "sms", "opted_in": True, "method": "telepathy"},
    ],
)
def test_bad_consent_input_is_a_400_and_records_nothing(owner, clinic_a, body):
    patient = make_patient(clinic_a)
    response = owner.post(f"/api/v1/patients/{patient.pk}/consents/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    with tenant_context(clinic_a):
        assert not ConsentEvent.objects.filter(patient=patient).exists()


# --- who sees and does what --------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_clinical_details_are_for_clinical_view_roles_only(as_role, clinic_a, role):
    patient = make_patient(clinic_a, allergies="Penicillin", medical_alerts="Asthma")
    client = as_role(role)
    one = client.get(f"/api/v1/patients/{patient.pk}/").json()
    row = client.get("/api/v1/patients/").json()["results"][0]
    for body in (one, row):
        assert body["has_alerts"] is True
        if role in CLINICAL_ROLES:
            assert (body["allergies"], body["medical_alerts"]) == ("Penicillin", "Asthma")
        else:
            assert "allergies" not in body
            assert "medical_alerts" not in body
    assert ("Penicillin" in str(one)) == (role in CLINICAL_ROLES)


def test_a_role_without_clinical_view_cannot_write_clinical_details(as_role, clinic_a):
    patient = make_patient(clinic_a, allergies="Penicillin")
    client = as_role(Role.RECEPTIONIST)
    created = client.post(
        "/api/v1/patients/", {"first_name": "A", "last_name": "B", "allergies": ""}, format="json"
    )
    assert created.status_code == 403
    patched = client.patch(
        f"/api/v1/patients/{patient.pk}/", {"allergies": "", "city": "Leeds"}, format="json"
    )
    assert patched.status_code == 403
    assert "clinical.view" in patched.json()["error"]["message"]
    # What the receptionist reads, sent back whole, keeps the allergies it never saw.
    seen = client.get(f"/api/v1/patients/{patient.pk}/").json()
    writable = {k: v for k, v in seen.items() if k in ("first_name", "last_name", "phone")}
    replaced = client.put(
        f"/api/v1/patients/{patient.pk}/", {**writable, "city": "York"}, format="json"
    )
    assert replaced.status_code == 200
    with tenant_context(clinic_a):
        patient.refresh_from_db()
    assert (patient.allergies, patient.city) == ("Penicillin", "York")


def endpoints(patient_id: int) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """(method, path, body, capability) for every endpoint of the patient API."""
    one = f"/api/v1/patients/{patient_id}/"
    return [
        ("get", "/api/v1/patients/", None, "view"),
        ("post", "/api/v1/patients/", {"first_name": "New", "last_name": "Person"}, "manage"),
        ("get", one, None, "view"),
        ("patch", one, {"city": "Leeds"}, "manage"),
        ("put", one, {"first_name": "Zoë", "last_name": "Núñez"}, "manage"),
        ("post", one + "archive/", None, "manage"),
        ("post", one + "restore/", None, "manage"),
        ("get", one + "consents/", None, "view"),
        ("post", one + "consents/", {"channel": "sms", "opted_in": False}, "manage"),
    ]


@pytest.mark.parametrize("role", list(Role))
def test_the_role_matrix_for_every_endpoint(as_role, clinic_a, role):
    patient = make_patient(clinic_a)
    client = as_role(role)
    for method, path, body, needs in endpoints(patient.pk):
        response = getattr(client, method)(path, body, format="json")
        allowed = needs == "view" or role in MANAGE_ROLES
        if allowed:
            assert response.status_code in (200, 201), (role, method, path, response.content)
        else:
            assert response.status_code == 403, (role, method, path)
            assert "patients.manage" in response.json()["error"]["message"]


def test_anonymous_callers_get_401_everywhere(api_client, clinic_a):
    patient = make_patient(clinic_a)
    client = api_client(clinic_a)
    for method, path, body, _ in endpoints(patient.pk):
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 401, (method, path)


def test_bearer_tokens_act_with_their_owners_role(clinic_a, receptionist_a):
    patient = make_patient(clinic_a, allergies="Latex")
    billing = person_with(clinic_a, Role.BILLING)
    front_desk = with_token(clinic_a, token_for(clinic_a, receptionist_a))
    created = front_desk.post(
        "/api/v1/patients/", {"first_name": "Tok", "last_name": "En"}, format="json"
    )
    assert created.status_code == 201
    read = front_desk.get(f"/api/v1/patients/{patient.pk}/")
    assert read.status_code == 200
    assert "allergies" not in read.json()
    assert [e.source for e in events(clinic_a, "patient.viewed", patient.pk)] == ["api"]
    billing_client = with_token(clinic_a, token_for(clinic_a, billing))
    assert billing_client.get("/api/v1/patients/").status_code == 200
    refused = billing_client.post(
        "/api/v1/patients/", {"first_name": "No", "last_name": "Way"}, format="json"
    )
    assert refused.status_code == 403
    practitioner = with_token(
        clinic_a, token_for(clinic_a, person_with(clinic_a, Role.PRACTITIONER))
    )
    assert practitioner.get(f"/api/v1/patients/{patient.pk}/").json()["allergies"] == "Latex"


# --- OpenAPI -----------------------------------------------------------------------------------


def test_the_schema_lists_every_endpoint_with_examples(api_client, clinic_a):
    response = api_client(clinic_a).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/patients/": {"get", "post"},
        "/api/v1/patients/{patient_id}/": {"get", "put", "patch"},
        "/api/v1/patients/{patient_id}/archive/": {"post"},
        "/api/v1/patients/{patient_id}/restore/": {"post"},
        "/api/v1/patients/{patient_id}/consents/": {"get", "post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            text = json.dumps(operation)
            assert '"examples"' in text, (path, method)
    create = paths["/api/v1/patients/"]["post"]
    assert "409" in create["responses"]
    assert "examples" in create["requestBody"]["content"]["application/json"]
