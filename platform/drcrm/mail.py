"""The one way features send email: render now, send from a Celery task after commit.

    send_email_on_commit(
        to=user.email,
        subject=f"You are invited to {clinic.name}",
        template="accounts/invite",  # templates/emails/accounts/invite.txt and .html
        context={"invite_url": clinic_url(clinic, f"/invites/{token}/")},
        idempotency_key=f"invite/{invite.pk}",
        clinic=clinic,
    )

Both bodies are rendered in the calling process, inside its transaction and schema, so the
task needs no database and cannot read a row that changed since. Nothing is sent when the
transaction rolls back. The idempotency key (`<event>/<id>`, unique per email the product
means to send once) makes every retry, ours or Celery's, deliver at most one email.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from drcrm.tasks import send_email

if TYPE_CHECKING:
    from shared_apps.clinics.models import Clinic

PRODUCT_NAME = "DR. CRM"
MAX_IDEMPOTENCY_KEY_LENGTH = 256  # Resend's limit; a longer key is refused with a 400
# Resend tag values allow ASCII letters, digits, underscores and dashes only.
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Quotes, angle brackets and control characters would break the From header's display name.
_DISPLAY_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\<>]')


def send_email_on_commit(
    *,
    to: str | list[str],
    subject: str,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
    clinic: Clinic | None = None,
    reply_to: str | list[str] | None = None,
) -> None:
    """Render `emails/<template>.txt|.html` now; send them once the transaction commits."""
    recipients = _as_list(to)
    if not recipients:
        raise ValueError("An email needs at least one recipient.")
    if not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"idempotency_key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} characters.")
    text, html = render_email(template, context, clinic=clinic)
    payload: dict[str, Any] = {
        "to": recipients,
        "subject": " ".join(subject.split()),  # a header: no line breaks
        "text": text,
        "html": html,
        "idempotency_key": idempotency_key,
        "from_email": sender_for(clinic),
        "reply_to": _as_list(reply_to),
        "tags": {"category": _TAG_UNSAFE.sub("-", template)},
    }
    # The task reads no clinic data: it runs on `public`, so it still delivers when the
    # clinic it writes about is suspended or deleted before a worker picks it up.
    headers = {"_schema_name": settings.PUBLIC_SCHEMA_NAME}
    transaction.on_commit(lambda: send_email.apply_async(kwargs=payload, headers=headers))


def render_email(
    template: str, context: dict[str, Any], *, clinic: Clinic | None = None
) -> tuple[str, str]:
    """The text and HTML bodies of `emails/<template>`, with the clinic (or product) name."""
    full_context = {
        **context,
        "clinic": clinic,
        "sender_name": clinic.name if clinic is not None else PRODUCT_NAME,
        "product_name": PRODUCT_NAME,
        "home_url": clinic_url(clinic, "/") if clinic is not None else public_url("/"),
    }
    text = render_to_string(f"emails/{template}.txt", full_context)
    html = render_to_string(f"emails/{template}.html", full_context)
    return _tidy_text(text), html.strip()


def sender_for(clinic: Clinic | None) -> str:
    """DEFAULT_FROM_EMAIL, named after the clinic when the email is on its behalf.

    The address stays ours (the domain verified with Resend); only the display name
    changes, so recipients see which clinic wrote to them.
    """
    if clinic is None:
        return settings.DEFAULT_FROM_EMAIL
    product, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    display = _DISPLAY_NAME_UNSAFE.sub("", f"{clinic.name} via {product or PRODUCT_NAME}")
    return f'"{" ".join(display.split())}" <{address}>'


def clinic_url(clinic: Clinic, path: str) -> str:
    """An absolute link to `path` on the clinic's primary domain (for emails)."""
    host = (
        clinic.domains.filter(is_primary=True).values_list("domain", flat=True).first()
        # Provisioning always makes this host the primary one; a clinic without a primary
        # row still answers on it.
        or f"{clinic.subdomain}.{settings.BASE_DOMAIN}"
    )
    return _absolute_url(host, path)


def public_url(path: str) -> str:
    """An absolute link to `path` on the public site (the apex domain)."""
    return _absolute_url(settings.BASE_DOMAIN, path)


def _absolute_url(host: str, path: str) -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}/{path.lstrip('/')}"


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _tidy_text(text: str) -> str:
    # Template tags leave trailing spaces and runs of blank lines in plain text.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
