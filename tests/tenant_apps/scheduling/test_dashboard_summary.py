"""The dashboard's calendar card shows today at a glance, counted in the clinic's day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.services import appointment_cancel, appointment_status_change
from tests import factories

pytestmark = pytest.mark.django_db


def _today_at(hour: int) -> dt.datetime:
    zone = clinic_zone()
    return dt.datetime.combine(timezone.localdate(timezone.now(), zone), dt.time(hour), zone)


def test_the_dashboard_counts_todays_appointments_of_this_clinic_only(
    calendar_a, calendar_b, clinic_a, clinic_b, receptionist_a, clinic_client
):
    # Today may be a weekend: the system books without the working-hours check's refusal.
    here = calendar_a.book(starts_at=_today_at(9), allow_outside_hours=True)
    appointment_status_change(actor=None, appointment=here, to_status="arrived")
    calendar_a.book(starts_at=_today_at(11), allow_outside_hours=True)
    missed = calendar_a.book(starts_at=_today_at(15), allow_outside_hours=True)
    appointment_cancel(actor=None, appointment=missed, reason="Phoned in sick")
    with tenant_context(clinic_b):  # clinic B's day is full: none of it counts for A
        for hour in (9, 10, 11, 12):
            calendar_b.book(starts_at=_today_at(hour), allow_outside_hours=True)

    page = clinic_client(clinic_a, receptionist_a).get("/")
    summary = page.content.decode()
    assert "Today:</strong> 2 booked · 1 here now · 0 seen · 1 cancelled or missed" in summary

    billing = factories.user_create()
    factories.membership_add(user=billing, clinic=clinic_a, role=Role.BILLING)
    assert 'data-testid="today-summary"' not in (
        clinic_client(clinic_a, billing).get("/").content.decode()
    )
