"""Factories for test data: thin wrappers over the real services, with sensible defaults."""

from __future__ import annotations

import itertools
from typing import Any

from django.conf import settings

from provisioning.services import clinic_create
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import Clinic

PASSWORD = "correct horse battery staple"
_sequence = itertools.count(1)


def host_of(clinic: Any) -> str:
    return f"{clinic.subdomain}.{settings.BASE_DOMAIN}"


def user_create(*, email: str | None = None, full_name: str = "", **fields: Any) -> User:
    n = next(_sequence)
    return User.objects.create_user(
        email or f"person{n}@example.com", PASSWORD, full_name=full_name or f"Person {n}", **fields
    )


def clinic_make(
    *, subdomain: str | None = None, name: str | None = None, owner: User | None = None, **kw: Any
) -> Clinic:
    n = next(_sequence)
    subdomain = subdomain or f"clinic-{n}"
    return clinic_create(
        actor=None,
        name=name or f"Clinic {n}",
        subdomain=subdomain,
        clinic_type=kw.pop("clinic_type", Clinic.ClinicType.DENTAL),
        country=kw.pop("country", "GB"),
        time_zone=kw.pop("time_zone", "Europe/London"),
        owner=owner or user_create(email=f"owner@{subdomain}.example"),
        **kw,
    )


def membership_add(*, user: User, clinic: Clinic, role: str) -> Membership:
    return Membership.objects.create(user=user, clinic=clinic, role=role)


def build_world() -> Any:
    """Clinic A and clinic B with the named people every test can use (committed)."""
    from tests.conftest import World

    owner_a = user_create(email="owner@clinic-a.example", full_name="Olivia Owner")
    outsider_b = user_create(email="owner@clinic-b.example", full_name="Oscar Outsider")
    clinic_a = clinic_make(subdomain="clinic-a", name="MARK-A Smile Dental", owner=owner_a)
    clinic_b = clinic_make(
        subdomain="clinic-b",
        name="MARK-B Family Medical",
        owner=outsider_b,
        clinic_type=Clinic.ClinicType.MEDICAL,
    )
    practitioner_a = user_create(
        email="practitioner@clinic-a.example", full_name="Pat Practitioner"
    )
    receptionist_a = user_create(email="reception@clinic-a.example", full_name="Rita Reception")
    membership_add(user=practitioner_a, clinic=clinic_a, role=Role.PRACTITIONER)
    membership_add(user=receptionist_a, clinic=clinic_a, role=Role.RECEPTIONIST)
    return World(
        clinic_a=clinic_a,
        clinic_b=clinic_b,
        owner_a=owner_a,
        practitioner_a=practitioner_a,
        receptionist_a=receptionist_a,
        outsider_b=outsider_b,
    )
