"""Task base classes and the platform's own diagnostic tasks.

Every task that touches clinic data uses `ClinicTask`: it runs in the schema of the clinic
that enqueued it (tenant-schemas-celery puts the schema name in a header) and refuses to
run on `public`, where a forgotten tenant context would otherwise read the wrong tables.
Tasks take ids, never patient data, and are enqueued with `enqueue_on_commit` so a worker
never sees a row before the transaction that wrote it has committed.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction
from tenant_schemas_celery.task import TenantTask

from drcrm import request_context
from drcrm.celery import app
from drcrm.tenancy import current_schema_name, on_public_schema, tenant_connection


class ClinicContextMissing(RuntimeError):
    """A clinic task was enqueued without a clinic (from the public schema)."""


class ClinicTask(TenantTask):
    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if on_public_schema():
            raise ClinicContextMissing(
                f"{self.name} needs a clinic: enqueue it inside the clinic's context."
            )
        token = request_context.activate(
            request_context.RequestContext(
                request_id=str(self.request.id or "-"), source=f"task:{self.name}"
            )
        )
        try:
            return super().__call__(*args, **kwargs)
        finally:
            request_context.deactivate(token)


def enqueue_on_commit(task: Task[Any, Any], *args: Any, **kwargs: Any) -> None:
    """Send `task` once the current transaction commits, in the schema active right now."""
    headers = {"_schema_name": current_schema_name()}
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs, headers=headers))


@app.task(base=ClinicTask, name="drcrm.clinic_ping")
def clinic_ping() -> dict[str, object]:
    """Which clinic a worker ran this in: a probe for operators and the tests of task routing."""
    return {"schema_name": current_schema_name(), "clinic_id": tenant_connection.tenant.pk}


@app.task(name="drcrm.platform_ping")
def platform_ping() -> dict[str, object]:
    """Runs in whatever schema it was sent from; reports it (public for platform work)."""
    return {"schema_name": current_schema_name()}
