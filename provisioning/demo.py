"""Demo data for development: the demo clinic `make run` creates, and `clinic seed-demo`.

Everyone the demo makes signs in with DEMO_PASSWORD (development only: every function here
refuses to run with DRCRM_ENV=production). The staff of a seeded clinic `<sub>`:

    owner@<sub>.example         Dr. Dana Whitfield     owner
    manager@<sub>.example       Priya Raman            practice manager (admin)
    dr.okafor@<sub>.example     Dr. Chidi Okafor       practitioner
    dr.lindqvist@<sub>.example  Dr. Sofia Lindqvist    practitioner
    assistant@<sub>.example     Tomás Alvarez          assistant
    reception@<sub>.example     Grace Kim              receptionist
    billing@<sub>.example       Martin Novak           billing

Seeding is deterministic and idempotent: a second run finds everyone and changes nothing.
An account that already exists (same email) is reused as it is, password included.
Later features add their demo records by appending a seeder to DEMO_SEEDERS (patients,
appointments, notes, invoices, ...): a function `(seed: DemoSeed) -> str` that makes what
is missing, reuses what exists, and returns a one-line summary.

The constants are importable without Django set up (the `make run` supervisor prints the
login before Django starts in its children); Django is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared_apps.accounts.models import User
    from shared_apps.clinics.models import Clinic

DEMO_SUBDOMAIN = "demo"
DEMO_OWNER_EMAIL = "owner@demo.example"
# Development only, for every demo account (the demo refuses to run in production).
DEMO_PASSWORD = "demo-owner-pass"  # noqa: S105
DEMO_OWNER_PASSWORD = DEMO_PASSWORD  # the name `make run` prints
# The demo clinic `make run` creates (the options of `manage.py clinic create`).
DEMO_CLINIC = {
    "name": "Demo Dental Clinic",
    "subdomain": DEMO_SUBDOMAIN,
    "type": "dental",
    "country": "GB",
    "time-zone": "Europe/London",
    "currency": "GBP",
}


@dataclass(frozen=True)
class DemoPerson:
    key: str  # how seeders refer to them: DemoSeed.people[key]
    local_part: str  # the email is <local_part>@<subdomain>.example
    full_name: str
    role: str  # shared_apps.accounts.models.Role value


DEMO_STAFF = (
    DemoPerson("owner", "owner", "Dr. Dana Whitfield", "owner"),
    DemoPerson("manager", "manager", "Priya Raman", "admin"),
    DemoPerson("practitioner", "dr.okafor", "Dr. Chidi Okafor", "practitioner"),
    DemoPerson("practitioner_2", "dr.lindqvist", "Dr. Sofia Lindqvist", "practitioner"),
    DemoPerson("assistant", "assistant", "Tomás Alvarez", "assistant"),
    DemoPerson("receptionist", "reception", "Grace Kim", "receptionist"),
    DemoPerson("billing", "billing", "Martin Novak", "billing"),
)


class DemoNotAllowed(Exception):
    """Demo data was asked for in production."""


@dataclass
class DemoSeed:
    """What seeders share: the clinic, and the demo staff by key once `seed_staff` ran;
    `summaries` collects each seeder's line."""

    clinic: Clinic
    people: dict[str, User] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)

    def logins(self) -> list[dict[str, str | None]]:
        """Each demo person's sign-in. `password` is None for an account that existed
        before the demo and kept its own password (the demo never changes a password)."""
        return [
            {
                "email": user.email,
                "full_name": user.full_name,
                "role": person.role,
                "password": DEMO_PASSWORD if user.check_password(DEMO_PASSWORD) else None,
            }
            for person in DEMO_STAFF
            if (user := self.people.get(person.key)) is not None
        ]


Seeder = Callable[[DemoSeed], str]


def demo_email(person: DemoPerson, subdomain: str) -> str:
    return f"{person.local_part}@{subdomain}.example"


def demo_allowed_check() -> None:
    from django.conf import settings

    if settings.IS_PRODUCTION:
        raise DemoNotAllowed("Demo data is for development only (DRCRM_ENV=production).")


def demo_user_ensure(*, email: str, full_name: str) -> tuple[User, bool]:
    """The account with `email`, made with DEMO_PASSWORD if there is none: (user, created)."""
    from shared_apps.accounts.models import User

    demo_allowed_check()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name), True


def demo_owner_ensure(*, email: str) -> User:
    """The owner of a clinic created with `clinic create --demo`: an account that signs in
    at once with DEMO_PASSWORD, instead of an emailed invite."""
    owner = next(p for p in DEMO_STAFF if p.key == "owner")
    user, _ = demo_user_ensure(email=email, full_name=owner.full_name)
    return user


def seed_staff(seed: DemoSeed) -> str:
    """One active membership per DEMO_STAFF person (reactivated, role put back if changed)."""
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import Membership
    from tenant_apps.audit.services import audit_record

    added = 0
    for person in DEMO_STAFF:
        user, _ = demo_user_ensure(
            email=demo_email(person, seed.clinic.subdomain), full_name=person.full_name
        )
        seed.people[person.key] = user
        membership, created = Membership.objects.get_or_create(
            user=user, clinic=seed.clinic, defaults={"role": person.role}
        )
        changed = (membership.role, membership.is_active) != (person.role, True)
        if changed:
            membership.role, membership.is_active = person.role, True
            membership.save(update_fields=["role", "is_active"])
        if created or changed:
            added += 1
            with tenant_context(seed.clinic):
                audit_record(
                    actor=None,
                    action="membership.created" if created else "membership.updated",
                    target=membership,
                    details={"user": user.pk, "role": person.role},
                )
    return f"staff: {len(DEMO_STAFF)} people, {added} added or restored"


DEMO_FIRST_NAMES = [
    "Amelia",
    "Oliver",
    "Zoë",
    "Mateo",
    "Aisha",
    "Noah",
    "Siobhán",
    "Liam",
    "Chloé",
    "Yusuf",
    "Freya",
    "Arjun",
    "Léa",
    "Kwame",
    "Ingrid",
    "Tomás",
    "Mei",
    "Hugo",
    "Niamh",
    "Ravi",
]
DEMO_LAST_NAMES = [
    "Smith",
    "Núñez",
    "O'Connor",
    "Patel",
    "Müller",
    "Okafor",
    "Jones",
    "García",
    "Kowalski",
    "Nguyen",
    "Brown",
    "Dubois",
    "Ahmed",
    "Lindqvist",
    "Rossi",
    "Williams",
    "Kaur",
    "Sato",
]
DEMO_ALLERGIES = ["Penicillin", "Latex", "Ibuprofen", "Peanuts"]
DEMO_PATIENT_COUNT = 60
DEMO_REFERRAL = "Demo data"


def _demo_email_of(first: str, last: str, n: int) -> str:
    from tenant_apps.patients.services import search_normalise

    local = ".".join(
        "".join(ch for ch in search_normalise(part) if ch.isalnum()) for part in (first, last)
    )
    return f"{local}.{n}@example.com"


def seed_patients(seed: DemoSeed) -> str:
    """Sixty patients with realistic names, phones, birthdays, a few alerts and consents."""
    import datetime as dt
    import random

    from django_tenants.utils import tenant_context

    from tenant_apps.patients.models import Patient
    from tenant_apps.patients.services import PatientInput, consent_record, patient_create

    rng = random.Random(seed.clinic.subdomain)  # noqa: S311 -- demo data, same everywhere
    owner = seed.people.get("owner")
    added = 0
    with tenant_context(seed.clinic):
        if Patient.objects.filter(referral_source=DEMO_REFERRAL).exists():
            return "patients: already there"
        for n in range(DEMO_PATIENT_COUNT):
            first, last = rng.choice(DEMO_FIRST_NAMES), rng.choice(DEMO_LAST_NAMES)
            birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 30_000))
            patient = patient_create(
                actor=owner,
                data=PatientInput(
                    first_name=first,
                    last_name=last,
                    date_of_birth=birth,
                    sex=rng.choice(["female", "male", "unknown"]),
                    phone=f"+44 7911 {100000 + n:06d}",
                    email=_demo_email_of(first, last, n),
                    city=rng.choice(["London", "Leeds", "Bristol", "Glasgow"]),
                    country="GB",
                    referral_source=DEMO_REFERRAL,
                    allergies=rng.choice(DEMO_ALLERGIES) if n % 7 == 0 else "",
                ),
            )
            if n % 3 == 0:
                consent_record(
                    actor=owner,
                    patient=patient,
                    channel="whatsapp",
                    opted_in=True,
                    method="form",
                )
            added += 1
    return f"patients: {added} added"


# Run in order by `clinic seed-demo`; later features append theirs (after seed_staff, so
# `seed.people` is filled).
DEMO_SEEDERS: list[Seeder] = [seed_staff, seed_patients]


def demo_seed(*, clinic: Clinic) -> DemoSeed:
    """Fill `clinic` with the demo data of every seeder, in one transaction."""
    from django.db import transaction

    demo_allowed_check()
    seed = DemoSeed(clinic=clinic)
    with transaction.atomic():
        for seeder in DEMO_SEEDERS:
            seed.summaries.append(seeder(seed))
    return seed
