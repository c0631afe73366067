"""Task base classes and the platform's own diagnostic tasks.

Every task that touches clinic data uses `ClinicTask`: it runs in the schema of the clinic
that enqueued it (tenant-schemas-celery puts the schema name in a header) and refuses to
run on `public`, where a forgotten tenant context would otherwise read the wrong tables.
Tasks take ids, never patient data, and are enqueued with `enqueue_on_commit` so a worker
never sees a row before the transaction that wrote it has committed.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from tenant_schemas_celery.task import TenantTask

from drcrm import request_context
from drcrm.celery import app
from drcrm.email_backend import IDEMPOTENCY_HEADER, EmailDeliveryFailed, EmailRejected
from drcrm.tenancy import current_schema_name, on_public_schema, tenant_connection

logger = logging.getLogger("drcrm.email")


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


# Celery retries after the backend's own attempts are spent: minutes apart, since seconds
# of backoff did not help. With RESEND_MAX_ATTEMPTS=4 that is at most 16 requests, all with
# one idempotency key, so Resend delivers the email once however many of them arrive.
SEND_EMAIL_MAX_RETRIES = 3
SEND_EMAIL_RETRY_SECONDS = 60


@app.task(name="drcrm.send_email", bind=True, max_retries=SEND_EMAIL_MAX_RETRIES)
def send_email(
    self: Task[Any, Any],
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str,
    idempotency_key: str,
    from_email: str | None = None,
    reply_to: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> str | None:
    """Send an email rendered by `drcrm.mail.send_email_on_commit`; returns Resend's id.

    Plain task, not a ClinicTask: it gets finished strings and reads no clinic data.
    """
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email,
        to=to,
        reply_to=reply_to,
        headers={IDEMPOTENCY_HEADER: idempotency_key},
    )
    message.attach_alternative(html, "text/html")
    message.tags = tags or {}  # type: ignore[attr-defined]
    try:
        message.send()
    except EmailRejected as error:
        # Permanent (bad address, bad key): another try would be refused the same way.
        logger.error(
            "email rejected, not retried idempotency_key=%s status=%s name=%s",
            idempotency_key,
            error.status,
            error.name,
        )
        return None
    except EmailDeliveryFailed as error:
        countdown = SEND_EMAIL_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(exc=error, countdown=countdown) from error
    return getattr(message, "provider_message_id", None)
