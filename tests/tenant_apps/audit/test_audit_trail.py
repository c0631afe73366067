"""The audit trail: one helper writes it, the database refuses to rewrite it."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django_tenants.utils import tenant_context

from drcrm import request_context
from tenant_apps.audit.models import AuditEvent
from tenant_apps.audit.selectors import audit_events_for_target
from tenant_apps.audit.services import AuditDetailsNotAllowed, audit_record

pytestmark = pytest.mark.django_db


def test_it_records_who_did_what_to_which_record_and_from_where(clinic_a, owner_a):
    token = request_context.activate(
        request_context.RequestContext(
            request_id="req-12345678", client_ip="203.0.113.9", source="web"
        )
    )
    try:
        with tenant_context(clinic_a):
            event = audit_record(
                actor=owner_a, action="clinic.view", target=clinic_a, details={"tab": "overview"}
            )
            event.refresh_from_db()
    finally:
        request_context.deactivate(token)
    assert (event.actor_id, event.actor_email) == (owner_a.pk, owner_a.email)
    assert (event.action, event.target_type, event.target_id) == (
        "clinic.view",
        "clinics.clinic",
        str(clinic_a.pk),
    )
    assert (event.client_ip, event.request_id, event.source) == (
        "203.0.113.9",
        "req-12345678",
        "web",
    )
    assert event.occurred_at is not None


def test_a_request_through_the_web_records_its_ip_and_request_id(clinic_a, owner_a, clinic_client):
    # The sign-in page does not audit yet; the middleware's context is what later services use.
    response = clinic_client(clinic_a, owner_a).get(
        "/", REMOTE_ADDR="198.51.100.4", HTTP_X_REQUEST_ID="trace-abcdef12"
    )
    assert response.status_code == 200
    assert request_context.current().client_ip == "198.51.100.4"
    assert request_context.current().request_id == "trace-abcdef12"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'x'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_the_database_refuses_to_rewrite_history(clinic_a, statement):
    with tenant_context(clinic_a):
        audit_record(actor=None, action="clinic.view", target_type="clinics.clinic", target_id=1)
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
        assert AuditEvent.objects.filter(action="clinic.view").exists()


def test_the_orm_cannot_delete_or_update_events_either(clinic_a):
    with tenant_context(clinic_a):
        event = audit_record(actor=None, action="clinic.view", target_type="x", target_id=1)
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
        with pytest.raises(DatabaseError), transaction.atomic():
            event.delete()


def test_free_text_is_refused_in_event_details(clinic_a):
    with tenant_context(clinic_a), pytest.raises(AuditDetailsNotAllowed):
        audit_record(
            actor=None,
            action="patient.update",
            target_type="p",
            target_id=1,
            details={"note": "Patient reports chest pain since Monday " * 5},
        )


def test_there_is_no_audit_trail_outside_a_clinic(db):
    assert connection.schema_name == "public"
    with pytest.raises(RuntimeError, match="needs a clinic"):
        audit_record(actor=None, action="clinic.view")


def test_clinic_b_never_sees_clinic_a_events(clinic_a, clinic_b):
    with tenant_context(clinic_a):
        audit_record(actor=None, action="clinic.view", target_type="marker", target_id="MARK-A")
    with tenant_context(clinic_b):
        audit_record(actor=None, action="clinic.view", target_type="marker", target_id="MARK-B")
        seen = set(AuditEvent.objects.values_list("target_id", flat=True))
        assert "MARK-A" not in seen
        assert list(audit_events_for_target(target_type="marker", target_id="MARK-B"))
    with tenant_context(clinic_a):
        assert not audit_events_for_target(target_type="marker", target_id="MARK-B").exists()
