"""Patient search, the list page and the CSV export.

Search is one box: patient number, phone in any format, email, date of birth and name
fragments (accents and case ignored), ranked exact matches first. The list page answers in
a constant number of queries whatever the page size; the export streams the same list as
CSV, safe to open in a spreadsheet, and leaves an audit row.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Membership, Role
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.models import Patient
from tenant_apps.patients.selectors import patients_matching, patients_search
from tenant_apps.patients.services import PatientInput, patient_archive, patient_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_clinic_a(clinic_a):
    with tenant_context(clinic_a):
        yield clinic_a


def make(actor, **fields) -> Patient:
    return patient_create(
        actor=actor, data=PatientInput(**{"first_name": "Ana", "last_name": "Lima", **fields})
    )


def found(query: str, **kwargs) -> list[str]:
    rows, _ = patients_search(query=query, **kwargs)
    return [f"{p.first_name} {p.last_name}" for p in rows]


def search_body(client, **params) -> str:
    response = client.get("/patients/", params)
    assert response.status_code == 200
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- what one box finds ---------------------------------------------------------------------


def test_name_fragments_match_any_part_of_any_name_and_every_word_must_match(in_clinic_a, owner_a):
    make(owner_a, first_name="Margaret", last_name="Thornton")
    make(owner_a, first_name="Margot", last_name="Hill")
    make(owner_a, first_name="Tom", last_name="Thornbury")
    assert sorted(found("marg")) == ["Margaret Thornton", "Margot Hill"]
    assert sorted(found("thorn")) == ["Margaret Thornton", "Tom Thornbury"]
    assert found("marg thorn") == ["Margaret Thornton"]
    assert found("thorn marg") == ["Margaret Thornton"]
    assert found("margot thorn") == []


def test_accents_and_case_are_ignored_both_ways(in_clinic_a, owner_a):
    make(owner_a, first_name="Zoë", last_name="Ñúñez")
    make(owner_a, first_name="ZOE", last_name="Bell")
    assert sorted(found("zoe")) == ["ZOE Bell", "Zoë Ñúñez"]
    assert found("ZOË NUÑ") == ["Zoë Ñúñez"]
    assert found("nunez") == ["Zoë Ñúñez"]


def test_preferred_name_is_searched_too(in_clinic_a, owner_a):
    make(owner_a, first_name="William", preferred_name="Bill", last_name="Gates")
    assert found("bill") == ["William Gates"]


@pytest.mark.parametrize(
    "typed",
    ["07911 123456", "+447911123456", "+44 (0)7911 123-456", "0044 7911 123456", "7911123456"],
)
def test_a_phone_is_found_in_any_format(in_clinic_a, owner_a, typed):
    make(owner_a, first_name="Phone", last_name="Owner", phone="+44 7911 123456")
    make(owner_a, first_name="Other", last_name="Person", phone="+44 7911 123450")
    assert found(typed) == ["Phone Owner"]


def test_the_alternative_phone_and_the_last_digits_find_a_patient(in_clinic_a, owner_a):
    make(owner_a, first_name="Alt", last_name="Phone", phone_alt="+33 6 12 34 56 78")
    assert found("+33612345678") == ["Alt Phone"]
    assert found("345678") == ["Alt Phone"]
    assert found("12345") == []  # too short to be a phone, and no such patient number


def test_patient_number_in_either_form(in_clinic_a, owner_a):
    make(owner_a, first_name="First", last_name="One")
    second = make(owner_a, first_name="Second", last_name="Two")
    assert second.number == "P-000002"
    for typed in ("P-000002", "p-000002", "P000002", "2", "000002"):
        assert found(typed) == ["Second Two"], typed


def test_email_matches_exactly_in_any_case(in_clinic_a, owner_a):
    make(owner_a, first_name="Mail", last_name="Person", email="Mail.Person@Example.com")
    make(owner_a, first_name="Mailer", last_name="Other", email="mail.person@example.co")
    assert found("mail.person@example.COM") == ["Mail Person"]
    assert found("person@example.com") == []


def test_date_of_birth_in_iso_and_the_clinics_day_first_forms(in_clinic_a, owner_a):
    make(owner_a, first_name="Born", last_name="March", date_of_birth=dt.date(1980, 3, 12))
    make(owner_a, first_name="Born", last_name="December", date_of_birth=dt.date(1980, 12, 3))
    for typed in ("1980-03-12", "12/03/1980", "12.03.1980", "12-03-1980"):
        assert found(typed) == ["Born March"], typed  # clinic A is in GB: day first


@pytest.fixture
def us_clinic(db):
    """A clinic in the United States, where 03/04/1985 is the 4th of March."""
    return factories.clinic_make(country="US", time_zone="America/New_York")


def test_a_typed_birth_date_is_read_in_the_clinics_order(
    clinic_a, us_clinic, clinic_client, owner_a
):
    for clinic in (clinic_a, us_clinic):
        with tenant_context(clinic):
            make(None, first_name="Born", last_name="March", date_of_birth=dt.date(1985, 3, 4))
            make(None, first_name="Born", last_name="April", date_of_birth=dt.date(1985, 4, 3))
    with tenant_context(us_clinic):
        assert found("03/04/1985") == ["Born March"]
        assert found("03.04.1985") == ["Born March"]
        assert found("1985-04-03") == ["Born April"]  # ISO reads the same everywhere
        # And as the search box asks it, the clinic's country coming from its host.
        us_owner = Membership.objects.get(clinic=us_clinic, role="owner").user
        body = search_body(clinic_client(us_clinic, us_owner), q="03/04/1985", fragment="1")
        assert "March" in body
        assert "April" not in body
    with tenant_context(clinic_a):
        assert found("03/04/1985") == ["Born April"]  # clinic A is in GB: day first
        assert found("1985-04-03") == ["Born April"]


def test_an_exact_number_ranks_above_a_phone_that_only_ends_alike(in_clinic_a, owner_a):
    # Alphabetically Aaron comes first; the exact patient number must beat that.
    make(owner_a, first_name="Aaron", last_name="Abbott", phone="+44 7911 123457")
    numbered = make(owner_a, first_name="Zed", last_name="Zulu")
    Patient.objects.filter(pk=numbered.pk).update(sequence=123457, number="P-123457")
    assert found("123457") == ["Zed Zulu", "Aaron Abbott"]
    assert found("07911 123457") == ["Aaron Abbott"]


def test_closer_names_rank_above_alphabetical_order(in_clinic_a, owner_a):
    make(owner_a, first_name="Aaron", last_name="Blacksmithington")
    make(owner_a, first_name="Zara", last_name="Smith")
    assert found("smith") == ["Zara Smith", "Aaron Blacksmithington"]
    # Without a query the list is alphabetical by last name.
    assert found("") == ["Aaron Blacksmithington", "Zara Smith"]


def test_a_birth_date_ranks_above_a_partial_name(in_clinic_a, owner_a):
    make(owner_a, first_name="Zoe", last_name="Young", date_of_birth=dt.date(1980, 3, 12))
    make(owner_a, first_name="Amy", last_name="Adams", date_of_birth=dt.date(1981, 3, 12))
    assert found("12/03/1980") == ["Zoe Young"]


def test_an_exact_email_ranks_above_a_name_match(in_clinic_a, owner_a):
    make(owner_a, first_name="Kim", last_name="Lee", email="kim@example.com")
    assert found("kim@example.com") == ["Kim Lee"]


# --- what is hidden ------------------------------------------------------------------------


def test_archived_patients_are_hidden_unless_asked_for_and_merged_ones_always(in_clinic_a, owner_a):
    kept = make(owner_a, first_name="Kept", last_name="Alvarez")
    archived = make(owner_a, first_name="Archived", last_name="Alvarez")
    merged = make(owner_a, first_name="Merged", last_name="Alvarez")
    patient_archive(actor=owner_a, patient=archived)
    Patient.objects.filter(pk=merged.pk).update(merged_into=kept, is_archived=True)

    assert found("alvarez") == ["Kept Alvarez"]
    assert sorted(found("alvarez", include_archived=True)) == ["Archived Alvarez", "Kept Alvarez"]
    assert found("", include_archived=True).count("Merged Alvarez") == 0
    assert found(merged.number, include_archived=True) == []
    assert patients_search(query="alvarez")[1] == 1


def test_bad_paging_and_ordering_are_field_errors(in_clinic_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        patients_search(limit=0, offset=-1)
    assert set(error.value.message_dict) == {"limit", "offset"}
    with pytest.raises(ValidationError) as error:
        patients_search(ordering="password")
    assert "ordering" in error.value.message_dict


def test_hostile_queries_find_nothing_and_break_nothing(in_clinic_a, owner_a):
    make(owner_a, first_name="Plain", last_name="Person")
    for typed in ("%", "_", "\\", "' OR 1=1 --", "\x00", "a" * 10_000, "😀", "P-99999999999"):
        rows, total = patients_search(query=typed)
        assert total == len(rows)
    assert found("%") == []
    assert found("_") == []


# --- the list page --------------------------------------------------------------------------


def test_the_list_page_shows_the_results_escaped_and_only_that_alerts_exist(
    in_clinic_a, clinic_client, receptionist_a, owner_a
):
    make(
        owner_a,
        first_name="<script>alert(1)</script>",
        last_name="Xss",
        allergies="Penicillin SECRET-ALLERGY",
        medical_alerts="SECRET-ALERT",
    )
    plain = make(owner_a, first_name="Plain", last_name="Xss")
    body = search_body(clinic_client(in_clinic_a, receptionist_a), q="xss")
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "SECRET-ALLERGY" not in body
    assert "SECRET-ALERT" not in body
    assert body.count('data-testid="alert-icon"') == 1
    assert f'href="/patients/{plain.pk}/"' in body


def test_the_fragment_is_only_the_results_for_as_you_type(
    in_clinic_a, clinic_client, receptionist_a, owner_a
):
    make(owner_a, first_name="Fragment", last_name="Person")
    body = search_body(clinic_client(in_clinic_a, receptionist_a), q="fragm", fragment="1")
    assert "Fragment" in body
    assert "<html" not in body
    assert "<form" not in body
    page = search_body(clinic_client(in_clinic_a, receptionist_a), q="fragm")
    assert "patients/search.js" in page
    assert 'name="q"' in page


def test_the_list_page_paginates_and_keeps_the_query(
    in_clinic_a, clinic_client, receptionist_a, owner_a
):
    for n in range(12):
        make(owner_a, first_name=f"Page{n:02d}", last_name="Turner")
    client = clinic_client(in_clinic_a, receptionist_a)
    first = search_body(client, q="turner", per_page="10")
    assert "Page 1 of 2" in first
    assert "q=turner" in first
    second = search_body(client, q="turner", per_page="10", page="2")
    assert second.count('data-testid="patient-row-') == 2
    beyond = search_body(client, q="turner", per_page="10", page="99")
    assert "Back to the first page" in beyond
    nonsense = search_body(client, q="turner", per_page="-5", page="abc")
    assert nonsense.count('data-testid="patient-row-') == 12


@pytest.mark.parametrize("query", ["", "turn", "07911 123456", "P-000001"])
def test_the_list_page_costs_the_same_queries_for_10_or_100_rows(
    in_clinic_a, clinic_client, receptionist_a, owner_a, query
):
    for n in range(120):
        make(
            owner_a,
            first_name=f"Name{n:03d}",
            last_name="Turner",
            phone=f"+44 7911 {123456 + n}",
            allergies="nuts" if n % 2 else "",
        )
    client = clinic_client(in_clinic_a, receptionist_a)
    client.get("/patients/")  # the first request of a session does its own one-off work
    counts = []
    for per_page in ("10", "100"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/patients/", {"q": query, "per_page": per_page})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    # The selector itself: the page and the count, nothing per row.
    for limit in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            rows, _ = patients_search(query=query, limit=limit)
            [(p.has_alerts, p.display_name) for p in rows]
        # django-tenants sets the schema's search path before each query; those do not count.
        selects = [q for q in queries if not q["sql"].startswith("SET search_path")]
        assert len(selects) <= 2  # the page, and the count unless it is the last page


def test_the_name_search_uses_the_trigram_index(in_clinic_a):
    # Varied names, analysed (bench/bench_patient_search.py checks the unforced plan on
    # 100,000 patients).
    Patient.objects.bulk_create(
        Patient(
            number=f"P-{n:06d}",
            sequence=n,
            first_name=f"name{n}",
            last_name=hashlib.md5(str(n).encode()).hexdigest(),  # noqa: S324 (test data)
            search_text=f"name{n} {hashlib.md5(str(n).encode()).hexdigest()}",  # noqa: S324
        )
        for n in range(1, 20_001)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
        # Still small for the planner, which may read the whole table instead; rule that
        # out and check that the index it then picks is the trigram one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = patients_matching(query="thornt").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_search_trgm" in plan, plan


@pytest.mark.parametrize("role", list(Role))
def test_every_role_that_sees_patients_can_list_them_and_export_follows_manage(
    in_clinic_a, clinic_client, owner_a, role
):
    make(owner_a, first_name="Visible", last_name="Patient")
    person = factories.user_create()
    factories.membership_add(user=person, clinic=in_clinic_a, role=role)
    client = clinic_client(in_clinic_a, person)
    listing = client.get("/patients/")
    assert listing.status_code == (200 if role_can(role, Capability.PATIENTS_VIEW) else 403)
    export = client.get("/patients/export.csv")
    may_export = role_can(role, Capability.PATIENTS_MANAGE)
    assert export.status_code == (200 if may_export else 403)
    if listing.status_code == 200:
        assert ("Export CSV" in listing.content.decode()) == may_export
        assert ("New patient" in listing.content.decode()) == may_export


def test_billing_sees_the_list_but_cannot_export(in_clinic_a, clinic_client, owner_a):
    person = factories.user_create()
    factories.membership_add(user=person, clinic=in_clinic_a, role=Role.BILLING)
    client = clinic_client(in_clinic_a, person)
    assert client.get("/patients/").status_code == 200
    assert client.get("/patients/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="patient.exported").exists()


def test_anonymous_visitors_are_sent_to_sign_in(in_clinic_a, clinic_client):
    for url in ("/patients/", "/patients/export.csv"):
        response = clinic_client(in_clinic_a).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")


# --- the CSV export -------------------------------------------------------------------------


def test_export_streams_the_filtered_list_as_safe_csv_and_is_audited(
    in_clinic_a, clinic_client, receptionist_a, owner_a
):
    make(
        owner_a,
        first_name='=HYPERLINK("http://evil")',
        last_name="Formula",
        preferred_name="@SUM(A1)",
        address_line1="-2+3",
        phone="07911 123456",
        date_of_birth=dt.date(1990, 5, 17),
        allergies="SECRET-ALLERGY",
        front_desk_notes="SECRET-NOTE",
    )
    make(owner_a, first_name='Comma, "Quoted"', last_name="Formula")
    make(owner_a, first_name="Not", last_name="Included")
    response = clinic_client(in_clinic_a, receptionist_a).get(
        "/patients/export.csv", {"q": "formula"}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["number", "first_name", "last_name"]
    assert len(body) == 2
    by_last = {tuple(row[1:3]): dict(zip(header, row, strict=True)) for row in body}
    evil = by_last[('\'=HYPERLINK("http://evil")', "Formula")]
    assert evil["preferred_name"] == "'@SUM(A1)"
    assert evil["address_line1"] == "'-2+3"
    assert evil["phone"] == "'+447911123456"
    assert evil["date_of_birth"] == "1990-05-17"
    assert ('Comma, "Quoted"', "Formula") in by_last
    text = "\n".join(",".join(row) for row in rows)
    assert "SECRET-ALLERGY" not in text
    assert "SECRET-NOTE" not in text
    assert "Included" not in text

    [event] = AuditEvent.objects.filter(action="patient.exported")
    assert event.actor_id == receptionist_a.pk
    assert event.details == {"count": 2, "filtered": True, "include_archived": False}


def test_export_leaves_out_archived_unless_asked_and_merged_always(
    in_clinic_a, clinic_client, owner_a
):
    kept = make(owner_a, first_name="Kept", last_name="Export")
    archived = make(owner_a, first_name="Archived", last_name="Export")
    merged = make(owner_a, first_name="Merged", last_name="Export")
    patient_archive(actor=owner_a, patient=archived)
    Patient.objects.filter(pk=merged.pk).update(merged_into=kept, is_archived=True)
    client = clinic_client(in_clinic_a, owner_a)
    plain = csv_rows(client.get("/patients/export.csv"))
    assert [row[1] for row in plain[1:]] == ["Kept"]
    everything = csv_rows(client.get("/patients/export.csv", {"archived": "1"}))
    assert sorted(row[1] for row in everything[1:]) == ["Archived", "Kept"]
    counts = list(
        AuditEvent.objects.filter(action="patient.exported")
        .order_by("pk")
        .values_list("details", flat=True)
    )
    assert counts == [
        {"count": 1, "filtered": False, "include_archived": False},
        {"count": 2, "filtered": False, "include_archived": True},
    ]
