"""The operator console's pages: who may open them, the fleet list, creating, suspending
and resuming clinics, API tokens; and that no page reads a clinic's records."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import tenant_context

from drcrm.link_tokens import link_token_hash
from shared_apps.accounts.models import Membership, Role
from shared_apps.clinics.models import Clinic
from shared_apps.operators import views
from shared_apps.operators.models import OperatorEvent, OperatorToken
from shared_apps.staff.models import Invite
from tenant_apps.audit.services import audit_record
from tests import factories
from tests.isolation.markers import assert_no_marker, marker
from tests.shared_apps.accounts.test_roles_and_access import urls_of
from tests.shared_apps.operators.console_helpers import (
    SIGN_IN,
    console_client,
    operator_create,
    public_client,
)

pytestmark = pytest.mark.django_db

SIGN_IN_PAGES = {
    "operator/sign-in/",
    "operator/sign-in/two-factor/",
    "operator/sign-in/two-factor/set-up/",
}


def console_paths(*ids: int) -> list[str]:
    """Every console URL but the sign-in steps, path arguments filled with `ids`."""
    paths = set()
    for route, _, _ in urls_of("public"):
        if not route.startswith("operator/") or route in SIGN_IN_PAGES:
            continue
        for value in ids or (1,):
            paths.add("/" + re.sub(r"<[^>]+>", str(value), route))
    return sorted(paths)


@pytest.fixture
def operator():
    return operator_create()


@pytest.fixture
def console(operator):
    return console_client(operator)


# ---- deny by default ---------------------------------------------------------------------


def test_the_walk_finds_the_console():
    paths = console_paths()
    assert "/operator/" in paths
    assert "/operator/clinics/1/suspend/" in paths
    assert len(paths) >= 8


@pytest.mark.parametrize("who", ["anonymous", "clinic_owner", "operator_without_2fa", "revoked"])
def test_no_one_but_a_two_factor_operator_opens_any_console_page(who, owner_a, clinic_a):
    clients = {
        "anonymous": lambda: public_client(),
        "clinic_owner": lambda: console_client(owner_a),
        "operator_without_2fa": lambda: console_client(operator_create(), method="password"),
        "revoked": lambda: console_client(factories.user_create(is_operator=False)),
    }
    token = OperatorToken.objects.create(
        user=operator_create(two_factor=False), name="x", token_hash="0" * 64, prefix="p"
    )
    for path in console_paths(clinic_a.pk, token.pk):
        for method in ("get", "post"):
            client = clients[who]()
            response = getattr(client, method)(path)
            assert response.status_code == 302, (who, method, path, response.status_code)
            assert response["Location"].startswith(SIGN_IN), (who, method, path)
    clinic_a.refresh_from_db()
    assert clinic_a.status == Clinic.Status.ACTIVE
    assert OperatorToken.objects.get(pk=token.pk).revoked_at is None


# ---- the fleet list ----------------------------------------------------------------------


def rows_of(content: bytes) -> dict[str, str]:
    """subdomain -> the HTML of its row in the clinic table."""
    html = content.decode()
    return dict(re.findall(r'<tr data-testid="clinic-([a-z0-9-]+)">(.*?)</tr>', html, re.S))


def cell(row: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}">([^<]*)<', row)
    assert match, (name, row)
    return match.group(1).strip()


def test_the_list_shows_each_clinic_with_its_counts(console, clinic_a, clinic_b):
    for _ in range(2):
        factories.membership_add(user=factories.user_create(), clinic=clinic_a, role=Role.ASSISTANT)
    inactive = factories.membership_add(
        user=factories.user_create(), clinic=clinic_a, role=Role.BILLING
    )
    Membership.objects.filter(pk=inactive.pk).update(is_active=False)
    response = console.get("/operator/")
    assert response.status_code == 200
    rows = rows_of(response.content)
    assert {"clinic-a", "clinic-b"} <= set(rows)
    # Owner, practitioner, receptionist, and the two new assistants; not the inactive one.
    assert cell(rows["clinic-a"], "members") == "5"
    assert cell(rows["clinic-b"], "members") == "1"
    assert cell(rows["clinic-a"], "patients") == "0"  # no patients app yet
    storage = cell(rows["clinic-a"], "storage")
    assert re.fullmatch(r"[\d.,]+\s(KB|MB|GB)", storage.replace("\xa0", " ")), storage
    assert "Active" in rows["clinic-a"]
    assert "owner@clinic-a.example" in rows["clinic-a"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("MARK-A", {"clinic-a"}),  # name
        ("clinic-b", {"clinic-b"}),  # subdomain
        ("OWNER@CLINIC-B", {"clinic-b"}),  # an owner's email, any case
        ("no-such-clinic", set()),
    ],
)
def test_the_list_searches_names_addresses_and_owners(console, world, search, expected):
    response = console.get("/operator/", {"q": search})
    assert set(rows_of(response.content)) == expected


def test_the_list_filters_by_status(console, operator, clinic_b):
    from provisioning.services import clinic_suspend

    clinic_suspend(actor=operator, clinic=clinic_b, reason="unpaid")
    suspended = rows_of(console.get("/operator/", {"status": "suspended"}).content)
    active = rows_of(console.get("/operator/", {"status": "active"}).content)
    assert set(suspended) == {"clinic-b"}
    assert "clinic-b" not in active
    assert "clinic-a" in active
    assert "Suspended" in suspended["clinic-b"]
    # Junk in the query string filters nothing rather than failing.
    assert console.get("/operator/", {"status": "nonsense", "page": "x"}).status_code == 200


def test_the_list_is_paginated(console, world, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    first = console.get("/operator/")
    second = console.get("/operator/", {"page": 2})
    assert len(rows_of(first.content)) == len(rows_of(second.content)) == 1
    assert rows_of(first.content).keys() != rows_of(second.content).keys()
    assert b'rel="next"' in first.content
    assert b'rel="prev"' in second.content


# ---- never a clinic's records -------------------------------------------------------------


def test_no_console_page_reads_a_clinic_record(console, clinic_a, clinic_b):
    secret = marker(clinic_b, "audit")
    with tenant_context(clinic_b):
        audit_record(actor=None, action="marker", actor_email=secret)
    schemas = {clinic_a.schema_name, clinic_b.schema_name}
    pages = ["/operator/", f"/operator/clinics/{clinic_b.pk}/", "/operator/?q=MARK"]
    with CaptureQueriesContext(connection) as queries:
        for page in pages:
            response = console.get(page)
            assert response.status_code == 200
            assert_no_marker(response.content, secret)
    for query in queries.captured_queries:
        sql = query["sql"]
        touched = [schema for schema in schemas if schema in sql]
        if not touched:
            continue
        # Only counts and the catalog's sizes: never a row, never a switch into the schema.
        assert "search_path" not in sql.lower(), sql
        assert "count(*)" in sql or "pg_namespace" in sql, sql


# ---- one clinic ---------------------------------------------------------------------------


def test_the_detail_page_shows_registry_counts_owners_domains_and_history(
    console, operator, clinic_b
):
    from provisioning.services import clinic_resume, clinic_suspend

    clinic_suspend(actor=operator, clinic=clinic_b, reason="unpaid invoice 42")
    clinic_resume(actor=operator, clinic=clinic_b, reason="paid")
    response = console.get(f"/operator/clinics/{clinic_b.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "MARK-B Family Medical" in html
    assert "owner@clinic-b.example" in html
    assert "clinic-b.localhost" in html
    assert clinic_b.schema_name in html
    history = html.split('data-testid="history"')[1]
    assert history.index("clinic.resume") < history.index("clinic.suspend")
    assert operator.email in history
    # Neither an export nor a deletion exists yet: the page offers neither.
    assert "Export" not in html
    assert "Delete" not in html


def test_an_unknown_clinic_is_a_404(console):
    assert console.get("/operator/clinics/999999999/").status_code == 404


# ---- creating a clinic --------------------------------------------------------------------


def create_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Harbour Dental",
        "subdomain": "harbour-dental",
        "clinic_type": "dental",
        "owner_email": "Hana@Harbour.example",
        "country": "gb",
        "time_zone": "Europe/London",
        "currency": "gbp",
        "plan": "standard",
        **overrides,
    }


def test_an_operator_creates_a_clinic_and_its_owner_is_invited(
    console, operator, mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post("/operator/clinics/new/", create_form())
    clinic = Clinic.objects.get(subdomain="harbour-dental")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "operator-clinic", args=[clinic.pk], urlconf="drcrm.urls_public"
    )
    assert (clinic.status, clinic.plan, clinic.country, clinic.currency) == (
        "active",
        "standard",
        "GB",
        "GBP",
    )
    invite = Invite.objects.get(clinic=clinic)
    assert invite.role == Role.OWNER
    [message] = mailbox
    assert message.to == [invite.email]
    assert invite.email.lower() == "hana@harbour.example"
    event = OperatorEvent.objects.get(action="clinic.create", clinic_id=clinic.pk)
    assert event.actor_id == operator.pk
    page = console.get(response["Location"])
    assert b"is ready" in page.content
    assert invite.email.encode() in page.content  # invited, not joined yet


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subdomain": "clinic-a"}, "subdomain", "already taken"),
        ({"subdomain": "admin"}, "subdomain", "reserved"),
        ({"subdomain": "Bad Name"}, "subdomain", "lower case"),
        ({"name": ""}, "name", "required"),
        ({"owner_email": "not-an-email"}, "owner_email", "valid email"),
        ({"currency": "E1"}, "currency", "three-letter"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "valid choice"),
    ],
)
def test_bad_input_comes_back_as_field_errors(console, world, overrides, field, message):
    response = console.post("/operator/clinics/new/", create_form(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field]), errors
    assert not Clinic.objects.filter(name="Harbour Dental").exists()


# ---- suspending and resuming --------------------------------------------------------------


def test_suspend_needs_a_reason_and_a_post(console, clinic_a):
    path = f"/operator/clinics/{clinic_a.pk}/suspend/"
    confirm = console.get(path)
    assert confirm.status_code == 200
    assert b"Suspend the clinic" in confirm.content
    empty = console.post(path, {"reason": "   "})
    assert empty.status_code == 400
    assert "reason" in empty.context["form"].errors
    clinic_a.refresh_from_db()
    assert clinic_a.status == Clinic.Status.ACTIVE


def test_suspend_closes_the_clinic_and_resume_opens_it(
    console, operator, clinic_a, clinic_client, owner_a, django_capture_on_commit_callbacks
):
    member = clinic_client(clinic_a, owner_a)
    assert member.get("/").status_code == 200
    # The routing map is told of registry changes on commit: run those callbacks.
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(
            f"/operator/clinics/{clinic_a.pk}/suspend/", {"reason": "Card declined three times"}
        )
    assert response.status_code == 302
    clinic_a.refresh_from_db()
    assert (clinic_a.status, clinic_a.status_reason) == ("suspended", "Card declined three times")
    assert member.get("/").status_code == 403
    assert OperatorEvent.objects.filter(
        action="clinic.suspend", clinic_id=clinic_a.pk, actor_id=operator.pk
    ).exists()
    detail = console.get(f"/operator/clinics/{clinic_a.pk}/")
    assert b"Card declined three times" in detail.content
    assert b'data-testid="resume"' in detail.content

    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(f"/operator/clinics/{clinic_a.pk}/resume/", {"reason": "paid"})
    assert response.status_code == 302
    clinic_a.refresh_from_db()
    assert clinic_a.status == Clinic.Status.ACTIVE
    assert member.get("/").status_code == 200
    assert OperatorEvent.objects.filter(action="clinic.resume", clinic_id=clinic_a.pk).exists()


def test_resuming_an_active_clinic_is_a_form_error(console, clinic_a):
    response = console.post(f"/operator/clinics/{clinic_a.pk}/resume/", {"reason": ""})
    assert response.status_code == 400
    assert "active" in " ".join(response.context["form"].non_field_errors())


def test_status_pages_take_no_get_side_effects(console, clinic_a):
    console.get(f"/operator/clinics/{clinic_a.pk}/suspend/?reason=x")
    clinic_a.refresh_from_db()
    assert clinic_a.status == Clinic.Status.ACTIVE


# ---- operator API tokens ------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_as_a_hash(console, operator):
    response = console.post("/operator/tokens/", {"name": "billing sync"})
    assert response.status_code == 200
    token = OperatorToken.objects.get(user=operator)
    value = re.search(r'value="([^"]+)" aria-label="The new token"', response.content.decode())
    assert value, response.content
    assert token.token_hash == link_token_hash(value.group(1))
    assert value.group(1).startswith(token.prefix)
    assert OperatorEvent.objects.filter(action="operator_token.created", actor_id=operator.pk)
    listing = console.get("/operator/tokens/")
    assert value.group(1).encode() not in listing.content
    assert token.prefix.encode() in listing.content
    assert b"billing sync" in listing.content


def test_a_token_needs_a_name(console, operator):
    response = console.post("/operator/tokens/", {"name": ""})
    assert response.status_code == 400
    assert not OperatorToken.objects.filter(user=operator).exists()


def test_an_operator_revokes_their_token_but_not_anyone_elses(console, operator):
    from shared_apps.operators.services import operator_token_create

    mine, _ = operator_token_create(actor=operator, name="mine")
    theirs, _ = operator_token_create(actor=operator_create(), name="theirs")
    assert console.post(f"/operator/tokens/{theirs.pk}/revoke/").status_code == 404
    assert console.post(f"/operator/tokens/{mine.pk}/revoke/").status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
    assert OperatorEvent.objects.filter(action="operator_token.revoked", actor_id=operator.pk)
    assert console.get(f"/operator/tokens/{mine.pk}/revoke/").status_code == 405
