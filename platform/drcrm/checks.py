"""Deployment checks of our own, run by `manage.py check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

CONSOLE_EMAIL = "django.core.mail.backends.console.EmailBackend"


@register(Tags.security, deploy=True)
def email_is_really_sent(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Invites and password resets printed to a log instead of sent lock people out."""
    if settings.EMAIL_BACKEND == CONSOLE_EMAIL:
        return [
            Warning(
                "Email is written to the console, not sent.",
                hint="Set RESEND_API_KEY (or EMAIL_BACKEND) so invites and resets reach people.",
                id="drcrm.W001",
            )
        ]
    return []
