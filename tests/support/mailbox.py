"""`mailbox`: email flows end to end in one process, for tests of the features that mail.

    def test_invite_sends_a_link(mailbox, django_capture_on_commit_callbacks, clinic_a):
        with django_capture_on_commit_callbacks(execute=True):
            invite_create(...)  # calls drcrm.mail.send_email_on_commit
        [message] = mailbox
        [link] = links_in(message)

Tests run inside a transaction that is rolled back, so `transaction.on_commit` callbacks
(where the email task is enqueued) never fire on their own: wrap the action in
`django_capture_on_commit_callbacks(execute=True)`, or nothing is sent. Celery is eager
here (the task runs in this process, errors propagate) and Django's locmem backend keeps
the messages in `django.core.mail.outbox`, which the fixture yields. To test delivery
through the Resend backend and a real worker, use `fake_resend` instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from drcrm.celery import app

LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
_LINK = re.compile(r"https?://[^\s<>\"')]+")


@pytest.fixture
def mailbox(db: None, settings: Any) -> Iterator[list[EmailMessage]]:
    # After `db`: its set-up replaces `mail.outbox` with a new list, which we must yield.
    settings.EMAIL_BACKEND = LOCMEM_BACKEND
    previous = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    if not hasattr(mail, "outbox"):
        mail.outbox = []
    mail.outbox.clear()  # in place: pytest-django's `mailoutbox` is the same list
    try:
        yield mail.outbox
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def links_in(message: EmailMessage) -> list[str]:
    """The http(s) links of a message's text body, in order."""
    return [link.rstrip(".,;:") for link in _LINK.findall(message.body)]
