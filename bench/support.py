"""What the web benchmarks share: a fresh clinic and a client signed in on its host."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from provisioning.services import clinic_create
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic


def bench_clinic(owner: User, subdomain: str) -> tuple[Clinic, Client]:
    """A dental clinic in London made the product's way, and its owner's signed-in client."""
    clinic = clinic_create(
        actor=None,
        name=f"Bench {subdomain}",
        subdomain=subdomain,
        clinic_type=Clinic.ClinicType.DENTAL,
        owner=owner,
        country="GB",
        time_zone="Europe/London",
    )
    client = Client(HTTP_HOST=f"{clinic.subdomain}.{settings.BASE_DOMAIN}")
    with tenant_context(clinic):
        client.force_login(owner)
    return clinic, client
