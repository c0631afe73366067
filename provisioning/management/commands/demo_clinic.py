"""`manage.py demo_clinic`: make sure the demo clinic exists (used by `make run`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from provisioning.demo import DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, DEMO_SUBDOMAIN
from provisioning.services import clinic_create, clinic_host
from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic


class Command(BaseCommand):
    help = "Create the demo clinic (demo.<BASE_DOMAIN>) and its owner if they do not exist."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("The demo clinic is for development only (DRCRM_ENV=production).")
        owner = User.objects.filter(email__iexact=DEMO_OWNER_EMAIL).first()
        if owner is None:
            owner = User.objects.create_user(
                DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD, full_name="Dr. Dana Demo"
            )
        clinic = Clinic.objects.filter(subdomain=DEMO_SUBDOMAIN).first()
        if clinic is None:
            clinic = clinic_create(
                actor=None,
                name="Demo Dental Clinic",
                subdomain=DEMO_SUBDOMAIN,
                clinic_type=Clinic.ClinicType.DENTAL,
                owner=owner,
                time_zone="Europe/London",
                currency="GBP",
            )
            self.stdout.write(f"Created the demo clinic at {clinic_host(DEMO_SUBDOMAIN)}")
        else:
            self.stdout.write(f"The demo clinic exists at {clinic_host(DEMO_SUBDOMAIN)}")
