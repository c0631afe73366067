"""Celery tasks of provisioning: take ids, call a service."""

from __future__ import annotations

from drcrm.celery import app
from provisioning import signup


@app.task(name="provisioning.signup_provision")
def signup_provision(signup_id: int) -> str:
    """Create the clinic of a verified signup. A plain task on `public` (not a ClinicTask:
    there is no clinic yet); the signup row and Redis carry its progress."""
    return signup.signup_provision(signup_id=signup_id)
