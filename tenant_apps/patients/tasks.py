"""Celery tasks of the patients app (clinic tasks: they run in the enqueuing clinic)."""

from __future__ import annotations

import logging

from drcrm.celery import app
from drcrm.tasks import ClinicTask
from shared_apps.accounts.models import User
from tenant_apps.patients.imports import import_job_fail, import_job_run

logger = logging.getLogger("drcrm.patients")


# A 10 MB file is up to ~100,000 rows at a few ms each: longer than the default limits.
IMPORT_SOFT_TIME_LIMIT = 3600


@app.task(
    base=ClinicTask,
    name="patients.import_run",
    soft_time_limit=IMPORT_SOFT_TIME_LIMIT,
    time_limit=IMPORT_SOFT_TIME_LIMIT + 60,
)
def patients_import_run(job_id: int, *, actor_id: int | None = None) -> dict[str, object]:
    """Import a checked CSV (ids only in the message: the file is in the job's row)."""
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        job = import_job_run(actor=actor, job_id=job_id)
    except Exception:
        # The page polls the job: say it failed rather than leave it "importing" for ever.
        logger.exception("patient import failed job_id=%s", job_id)
        import_job_fail(job_id=job_id, reason="The import failed; nothing was imported.")
        raise
    return {"job_id": job.pk, "status": job.status, "created": job.created_count}
