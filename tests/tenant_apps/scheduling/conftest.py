"""Clinic A's calendar (and clinic B's, for isolation) ready to book on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import Role
from tests.factories import membership_add, user_create
from tests.support.scheduling import Calendar, calendar_setup


@pytest.fixture
def calendar_a(clinic_a, practitioner_a, owner_a) -> Iterator[Calendar]:
    """Clinic A's calendar; the test runs in clinic A's schema."""
    with tenant_context(clinic_a):
        yield calendar_setup(pat_user=practitioner_a, olivia_user=owner_a)


@pytest.fixture
def calendar_b(clinic_b, outsider_b) -> Calendar:
    """Clinic B's calendar, every name marked MARK-B (made in B's schema, then back)."""
    colleague = user_create(email="practitioner@clinic-b.example", full_name="Bea B")
    membership_add(user=colleague, clinic=clinic_b, role=Role.PRACTITIONER)
    with tenant_context(clinic_b):
        return calendar_setup(pat_user=colleague, olivia_user=outsider_b, marker="MARK-B")
