"""Outgoing email: Django's mail API, the Resend backend, and the send-after-commit helper.

The backend is exercised for real: the `resend` SDK makes HTTP requests to `fake_resend`, a
server on 127.0.0.1 that answers like Resend's API (tests/support/fake_resend.py), with
scripted 422/429/500 answers and slow answers. Nothing of ours is mocked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from celery.signals import task_failure
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django_tenants.utils import tenant_context

from drcrm.celery import app
from drcrm.email_backend import EmailDeliveryFailed, EmailRejected, ResendEmailBackend
from drcrm.mail import clinic_url, public_url, send_email_on_commit
from drcrm.tasks import SEND_EMAIL_MAX_RETRIES
from tests.support.fake_resend import FakeResend, Reply
from tests.support.mailbox import links_in

REPO_ROOT = Path(__file__).resolve().parents[2]


def invite_message(key: str = "invite/42", to: str = "pat@example.com") -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject="You are invited",
        body="Join MARK-A Smile Dental: http://clinic-a.localhost:8000/join/",
        from_email="DR. CRM <no-reply@drcrm.cloud>",
        to=[to],
        cc=["cc@example.com"],
        reply_to=["front-desk@example.com"],
        headers={"Idempotency-Key": key, "X-Entity-Ref-ID": "invite-42"},
    )
    message.attach_alternative("<p>Join <b>MARK-A Smile Dental</b></p>", "text/html")
    return message


def notice_context() -> dict[str, Any]:
    return {
        "heading": "Your export is ready",
        "lines": ["Patients & appointments, as CSV."],
        "action_label": "Download",
        "action_url": "http://clinic-a.localhost:8000/exports/7/",
        "reason": "You asked for an export of your clinic's data.",
    }


# --- the backend against the fake Resend ---------------------------------------------------


def test_a_message_is_sent_with_both_bodies_and_its_idempotency_key(fake_resend: FakeResend):
    message = invite_message()

    assert message.send() == 1

    [request] = fake_resend.requests
    assert request.headers["authorization"] == f"Bearer {fake_resend.api_key}"
    assert request.headers["idempotency-key"] == "invite/42"
    assert request.body == {
        "from": "DR. CRM <no-reply@drcrm.cloud>",
        "to": ["pat@example.com"],
        "cc": ["cc@example.com"],
        "reply_to": ["front-desk@example.com"],
        "subject": "You are invited",
        "text": "Join MARK-A Smile Dental: http://clinic-a.localhost:8000/join/",
        "html": "<p>Join <b>MARK-A Smile Dental</b></p>",
        # The idempotency key is an API header, not a header of the email itself.
        "headers": {"X-Entity-Ref-ID": "invite-42"},
    }
    [email] = fake_resend.emails
    assert message.provider_message_id == email.id  # type: ignore[attr-defined]


def test_sending_the_same_message_again_delivers_it_once(fake_resend: FakeResend):
    first, second = invite_message(), invite_message()

    first.send()
    second.send()

    assert len(fake_resend.requests) == 2
    assert len(fake_resend.emails) == 1
    assert second.provider_message_id == first.provider_message_id  # type: ignore[attr-defined]


def test_a_rejected_message_raises_the_providers_reason_and_is_not_retried(
    fake_resend: FakeResend,
):
    with pytest.raises(EmailRejected, match=r"422 validation_error.*Invalid `to` field") as info:
        invite_message(to="not-an-address").send()

    assert (info.value.status, info.value.name, info.value.attempts) == (
        422,
        "validation_error",
        1,
    )
    assert len(fake_resend.requests) == 1
    assert fake_resend.emails == []


def test_fail_silently_swallows_a_rejection_and_counts_nothing_sent(fake_resend: FakeResend):
    assert invite_message(to="not-an-address").send(fail_silently=True) == 0
    assert len(fake_resend.requests) == 1


def test_a_wrong_api_key_is_a_permanent_error(fake_resend: FakeResend, settings: Any):
    settings.RESEND_API_KEY = "re_not_the_right_one"

    with pytest.raises(EmailRejected, match="403 invalid_api_key"):
        invite_message().send()

    assert len(fake_resend.requests) == 1


def test_a_429_is_retried_after_retry_after_with_the_same_key(fake_resend: FakeResend):
    fake_resend.script(Reply.error(429, retry_after=0))
    message = invite_message(key="reminder/9")

    assert message.send() == 1

    assert [r.headers["idempotency-key"] for r in fake_resend.requests] == ["reminder/9"] * 2
    [email] = fake_resend.emails
    assert message.provider_message_id == email.id  # type: ignore[attr-defined]


def test_retry_after_is_honoured(fake_resend: FakeResend, settings: Any):
    settings.RESEND_BACKOFF_SECONDS = 0.0  # any wait now comes from the server's header
    fake_resend.script(Reply.error(429, retry_after=0.5))

    started = time.monotonic()
    invite_message().send()

    assert time.monotonic() - started >= 0.5
    assert len(fake_resend.requests) == 2


def test_a_500_is_retried_then_succeeds(fake_resend: FakeResend):
    fake_resend.script(Reply.error(500))

    assert invite_message().send() == 1

    assert len(fake_resend.requests) == 2
    assert len(fake_resend.emails) == 1


def test_a_used_key_with_another_message_is_rejected_not_retried(fake_resend: FakeResend):
    invite_message(key="invite/42").send()
    other = invite_message(key="invite/42", to="someone-else@example.com")

    with pytest.raises(EmailRejected, match="409 invalid_idempotent_request"):
        other.send()

    assert len(fake_resend.requests) == 2
    assert len(fake_resend.emails) == 1


def test_a_concurrent_use_of_the_key_is_retried(fake_resend: FakeResend):
    fake_resend.script(Reply.error(409, name="concurrent_idempotent_requests"))

    assert invite_message().send() == 1

    assert len(fake_resend.requests) == 2


def test_a_spent_quota_is_not_retried_within_the_send(fake_resend: FakeResend):
    # Seconds of backoff cannot help a daily quota; the task retries minutes later.
    fake_resend.script(Reply.error(429, name="daily_quota_exceeded"))

    with pytest.raises(EmailDeliveryFailed, match="daily_quota_exceeded"):
        invite_message().send()

    assert len(fake_resend.requests) == 1


def test_a_server_that_keeps_failing_is_given_up_on_after_max_attempts(
    fake_resend: FakeResend, settings: Any
):
    settings.RESEND_MAX_ATTEMPTS = 3
    fake_resend.always(Reply.error(500))

    with pytest.raises(EmailDeliveryFailed, match=r"after 3 attempt\(s\).*500") as info:
        invite_message().send()

    assert info.value.attempts == 3
    assert len(fake_resend.requests) == 3
    assert {r.headers["idempotency-key"] for r in fake_resend.requests} == {"invite/42"}


def test_a_timeout_is_retried_and_the_late_first_request_does_not_send_twice(
    fake_resend: FakeResend, settings: Any
):
    settings.RESEND_TIMEOUT_SECONDS = 0.3
    # The first request reaches "Resend" but answers too late; Resend still sends it.
    fake_resend.script(Reply.slow(1.0))
    message = invite_message()

    assert message.send() == 1
    time.sleep(1.0)  # let the slow first request finish on the server

    assert len(fake_resend.requests) == 2
    [email] = fake_resend.emails
    assert message.provider_message_id == email.id  # type: ignore[attr-defined]


def test_a_server_that_never_answers_in_time_fails_after_max_attempts(
    fake_resend: FakeResend, settings: Any
):
    settings.RESEND_TIMEOUT_SECONDS = 0.2
    settings.RESEND_MAX_ATTEMPTS = 2
    fake_resend.always(Reply(status=500, delay=1.0))

    started = time.monotonic()
    with pytest.raises(EmailDeliveryFailed, match="HttpClientError"):
        invite_message().send()

    assert len(fake_resend.requests) == 2
    assert time.monotonic() - started < 1.5  # two timeouts, not two full answers


def test_an_html_only_message_is_sent_as_html(fake_resend: FakeResend):
    message = EmailMessage(subject="Hi", body="<p>Hi</p>", to=["pat@example.com"])
    message.content_subtype = "html"

    message.send()

    [request] = fake_resend.requests
    assert request.body["html"] == "<p>Hi</p>"
    assert "text" not in request.body
    assert "headers" not in request.body


def test_a_message_without_a_key_still_uses_one_key_for_all_its_attempts(
    fake_resend: FakeResend,
):
    fake_resend.script(Reply.error(503, name="service_unavailable"))
    message = EmailMessage(subject="Hi", body="Hi", to=["pat@example.com"])

    message.send()

    first, second = (r.headers["idempotency-key"] for r in fake_resend.requests)
    assert first == second
    assert first.startswith("auto/")


def test_the_sdk_configuration_is_restored_after_a_send(fake_resend: FakeResend):
    import resend

    before = (resend.api_key, resend.api_url, resend.default_http_client)

    invite_message().send()

    assert (resend.api_key, resend.api_url, resend.default_http_client) == before


def test_get_connection_builds_the_backend_from_settings(fake_resend: FakeResend):
    connection = get_connection()

    assert isinstance(connection, ResendEmailBackend)
    assert connection.config.api_url == fake_resend.url


# --- which backend the settings choose ------------------------------------------------------


def backend_chosen_by_settings(**env: str) -> str:
    """EMAIL_BACKEND as settings.py computes it from `env` (a fresh interpreter)."""
    names = ("RESEND_API_KEY", "EMAIL_BACKEND")
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in names and key.removesuffix("_FILE") not in names
    }
    result = subprocess.run(
        [sys.executable, "-c", "import drcrm.settings as s; print(s.EMAIL_BACKEND)"],
        env={**base, **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_console_backend_is_used_without_a_resend_key():
    assert backend_chosen_by_settings() == "django.core.mail.backends.console.EmailBackend"
    assert (
        backend_chosen_by_settings(
            DRCRM_ENV="production",
            SECRET_KEY="x" * 50,
            TWO_FACTOR_ENCRYPTION_KEYS="A" * 43 + "=",  # any Fernet-shaped key
        )
        == "django.core.mail.backends.console.EmailBackend"
    )


def test_the_resend_backend_is_used_with_a_key_unless_another_backend_is_named():
    assert backend_chosen_by_settings(RESEND_API_KEY="re_123") == (
        "drcrm.email_backend.ResendEmailBackend"
    )
    assert backend_chosen_by_settings(
        RESEND_API_KEY="re_123", EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend"
    ) == ("django.core.mail.backends.smtp.EmailBackend")


# --- links -----------------------------------------------------------------------------------


def test_clinic_links_use_the_clinics_primary_domain_and_the_site_port(
    clinic_a: Any, settings: Any
):
    settings.SITE_SCHEME, settings.SITE_PORT = "http", "8000"
    assert clinic_url(clinic_a, "/sign-in/") == "http://clinic-a.localhost:8000/sign-in/"

    settings.SITE_SCHEME, settings.SITE_PORT = "https", ""
    clinic_a.domains.filter(is_primary=True).update(is_primary=False)
    clinic_a.domains.create(domain="smile.example", is_primary=True)
    assert clinic_url(clinic_a, "sign-in/") == "https://smile.example/sign-in/"
    assert public_url("/privacy/") == "https://localhost/privacy/"


# --- send_email_on_commit ------------------------------------------------------------------


def test_nothing_is_sent_before_commit_then_a_real_worker_delivers_it(
    fake_resend: FakeResend,
    celery_worker: Any,
    clinic_a: Any,
    django_capture_on_commit_callbacks: Any,
):
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        tenant_context(clinic_a),  # as a feature would call it, inside the clinic
    ):
        send_email_on_commit(
            to="pat@example.com",
            subject="Your export is ready",
            template="notice",
            context=notice_context(),
            idempotency_key="export/7",
            clinic=clinic_a,
        )
    # The task is only handed to Celery by the commit: a rollback would send nothing.
    assert len(callbacks) == 1
    assert fake_resend.requests == []

    callbacks[0]()

    [email] = fake_resend.wait_for_emails(1)
    assert email.idempotency_key == "export/7"
    assert email.body["to"] == ["pat@example.com"]
    assert email.body["subject"] == "Your export is ready"
    assert email.body["from"] == '"MARK-A Smile Dental via DR. CRM" <no-reply@drcrm.cloud>'
    assert "MARK-A Smile Dental" in email.body["text"]
    assert "Patients & appointments" in email.body["text"]
    assert "Patients &amp; appointments" in email.body["html"]
    assert "http://clinic-a.localhost:8000/exports/7/" in email.body["html"]
    assert email.body["tags"] == [{"name": "category", "value": "notice"}]


def test_the_eager_task_puts_both_bodies_and_the_clinic_name_in_the_outbox(
    mailbox: list[EmailMessage], clinic_a: Any, django_capture_on_commit_callbacks: Any
):
    with django_capture_on_commit_callbacks(execute=True):
        send_email_on_commit(
            to=["pat@example.com"],
            subject="Your export\nis ready",
            template="notice",
            context=notice_context(),
            idempotency_key="export/7",
            clinic=clinic_a,
            reply_to="front-desk@example.com",
        )

    [message] = mailbox
    assert mail.outbox is mailbox
    assert message.subject == "Your export is ready"
    assert message.to == ["pat@example.com"]
    assert message.reply_to == ["front-desk@example.com"]
    assert message.extra_headers["Idempotency-Key"] == "export/7"
    assert message.body.startswith("MARK-A Smile Dental\n")
    assert "You asked for an export of your clinic's data." in message.body
    [(html, mimetype)] = message.alternatives  # type: ignore[attr-defined]
    assert mimetype == "text/html"
    assert "MARK-A Smile Dental</td>" in html
    assert links_in(message) == [
        "http://clinic-a.localhost:8000/exports/7/",
        "http://clinic-a.localhost:8000/",
    ]


def test_without_a_clinic_the_email_speaks_for_the_product(
    mailbox: list[EmailMessage], django_capture_on_commit_callbacks: Any, db: None
):
    with django_capture_on_commit_callbacks(execute=True):
        send_email_on_commit(
            to="owner@example.com",
            subject="Welcome",
            template="notice",
            context={"heading": "Welcome", "lines": []},
            idempotency_key="welcome/1",
        )

    [message] = mailbox
    assert message.from_email == "DR. CRM <no-reply@drcrm.cloud>"
    assert message.body.startswith("DR. CRM\n")
    assert "your address is used on DR. CRM" in message.body
    assert links_in(message) == ["http://localhost:8000/"]


def test_a_rejection_is_not_retried_by_the_task(
    fake_resend: FakeResend, mailbox: Any, settings: Any, django_capture_on_commit_callbacks: Any
):
    # `mailbox` for eager Celery; the backend is switched back to Resend below.
    settings.EMAIL_BACKEND = "drcrm.email_backend.ResendEmailBackend"  # mailbox set locmem
    with django_capture_on_commit_callbacks(execute=True):
        send_email_on_commit(
            to="not-an-address",
            subject="Hi",
            template="notice",
            context={"heading": "Hi", "lines": []},
            idempotency_key="hi/1",
        )

    assert len(fake_resend.requests) == 1


def test_the_task_retries_a_lasting_outage_a_bounded_number_of_times(
    fake_resend: FakeResend, mailbox: Any, settings: Any, django_capture_on_commit_callbacks: Any
):
    settings.EMAIL_BACKEND = "drcrm.email_backend.ResendEmailBackend"
    settings.RESEND_MAX_ATTEMPTS = 2
    fake_resend.always(Reply.error(502, name="bad_gateway"))
    # Eager Celery runs the task's retries at once (countdowns are for real workers), unless
    # it propagates errors: then the first retry surfaces as `Retry`. `mailbox` restores it.
    app.conf.task_eager_propagates = False
    failures: list[BaseException] = []

    def record_failure(exception: BaseException, **_: Any) -> None:
        failures.append(exception)

    task_failure.connect(record_failure, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send_email_on_commit(
                to="pat@example.com",
                subject="Hi",
                template="notice",
                context={"heading": "Hi", "lines": []},
                idempotency_key="hi/2",
            )
    finally:
        task_failure.disconnect(record_failure)

    assert len(fake_resend.requests) == 2 * (1 + SEND_EMAIL_MAX_RETRIES)
    [failure] = failures
    assert isinstance(failure, EmailDeliveryFailed)
    assert {r.headers["idempotency-key"] for r in fake_resend.requests} == {"hi/2"}


def test_an_invalid_idempotency_key_is_refused_before_anything_is_queued(
    django_capture_on_commit_callbacks: Any, db: None
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(ValueError, match="idempotency_key"),
    ):
        send_email_on_commit(
            to="pat@example.com",
            subject="Hi",
            template="notice",
            context={},
            idempotency_key="x" * 257,
        )
    assert callbacks == []
