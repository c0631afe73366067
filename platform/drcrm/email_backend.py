"""A Django email backend that sends through Resend's HTTP API with the `resend` SDK.

Every message is one `POST /emails` through `resend.Emails.send`. Transient failures (429,
5xx, timeouts and connection errors) are retried a bounded number of times with exponential
backoff and jitter, honouring `retry-after`; every attempt carries the same
`Idempotency-Key`, so a retry after a timeout that did reach Resend sends nothing twice.
Permanent rejections (other 4xx) are never retried: they raise `EmailRejected`.

Settings: RESEND_API_KEY, RESEND_API_URL, RESEND_TIMEOUT_SECONDS, RESEND_MAX_ATTEMPTS,
RESEND_BACKOFF_SECONDS (see settings.py). The idempotency key comes from the message's
`Idempotency-Key` header, which is passed to the SDK and not sent as an email header.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import requests
import resend
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from resend.exceptions import ResendError
from resend.http_client import HTTPClient

logger = logging.getLogger("drcrm.email")

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_API_URL = "https://api.resend.com"
# However long a server asks us to wait, one send never sleeps longer than this between
# attempts: a Celery retry (minutes later) is the better place for long waits.
MAX_DELAY_SECONDS = 30.0
# Quota errors share 429 with the per-second rate limit, but waiting seconds cannot help.
QUOTA_ERROR_NAMES = frozenset({"daily_quota_exceeded", "monthly_quota_exceeded"})
# The SDK turns every transport failure (timeout, refused connection) into this error type.
TRANSPORT_ERROR_NAME = "HttpClientError"

# The SDK reads its configuration from module globals (resend.api_key, resend.api_url,
# resend.default_http_client) at request time. Each attempt installs ours and restores the
# previous values under this lock, so two threads never send with each other's settings.
_sdk_lock = threading.Lock()


class EmailSendError(Exception):
    """Resend did not accept an email. `status` is the HTTP status, `name` Resend's error name."""

    def __init__(self, message: str, *, status: int = 0, name: str = "", attempts: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.attempts = attempts

    def __reduce__(self) -> tuple[Any, ...]:
        # Celery stores a task's failure in the result backend: it must survive the trip.
        return (type(self), self.args, self.__dict__)


class EmailRejected(EmailSendError):
    """A permanent refusal (bad address, bad key, ...): sending it again cannot succeed."""


class EmailDeliveryFailed(EmailSendError):
    """Resend stayed unavailable (429/5xx/timeouts) through every attempt: try again later."""


@dataclass(frozen=True)
class ResendConfig:
    api_key: str
    api_url: str
    timeout_seconds: float
    max_attempts: int
    backoff_seconds: float

    @classmethod
    def from_settings(cls) -> ResendConfig:
        return cls(
            api_key=settings.RESEND_API_KEY,
            api_url=(settings.RESEND_API_URL or DEFAULT_API_URL).rstrip("/"),
            timeout_seconds=float(settings.RESEND_TIMEOUT_SECONDS),
            max_attempts=max(1, int(settings.RESEND_MAX_ATTEMPTS)),
            backoff_seconds=float(settings.RESEND_BACKOFF_SECONDS),
        )


class TimeoutHTTPClient(HTTPClient):
    """The SDK's transport (requests), with our timeout and one connection pool per send.

    The SDK's own `RequestsClient` takes a whole-second timeout and opens a new connection
    for every request; retries of one message reuse this session's connection instead.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._session = requests.Session()

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json: dict[str, object] | list[object] | None = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        response = self._session.request(
            method=method,
            url=url,
            headers=dict(headers),
            json=cast(Any, json) if data is None else None,  # JSON-serialisable by contract
            data=data,
            files=files,
            timeout=self._timeout,
            allow_redirects=False,
        )
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        self._session.close()


@contextmanager
def _sdk_configured(config: ResendConfig, client: HTTPClient) -> Iterator[None]:
    with _sdk_lock:
        previous = (resend.api_key, resend.api_url, resend.default_http_client)
        resend.api_key = config.api_key
        resend.api_url = config.api_url
        resend.default_http_client = client
        try:
            yield
        finally:
            resend.api_key, resend.api_url, resend.default_http_client = previous


class ResendEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.config = ResendConfig.from_settings()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                send_one(message, self.config)
            except EmailSendError:
                if not self.fail_silently:
                    raise
                logger.exception("email not sent (fail_silently)")
                continue
            sent += 1
        return sent


def send_one(message: EmailMessage, config: ResendConfig) -> str:
    """Send `message`, retrying transient failures; returns and records Resend's message id."""
    if not config.api_key:
        raise EmailRejected(
            "RESEND_API_KEY is empty: set it, or use another EMAIL_BACKEND.",
            status=0,
            name="missing_api_key",
            attempts=0,
        )
    params = message_params(message)
    # Without a key from the caller, one per message still makes our own retries safe.
    key = idempotency_key_of(message) or f"auto/{uuid.uuid4()}"
    client = TimeoutHTTPClient(config.timeout_seconds)
    try:
        message_id, attempts = _send_with_retries(params, key, config, client)
    finally:
        client.close()
    message.provider_message_id = message_id  # type: ignore[attr-defined]
    logger.info(
        "email sent provider_id=%s idempotency_key=%s recipients=%d attempts=%d",
        message_id,
        key,
        len(message.recipients()),
        attempts,
    )
    return message_id


def _send_with_retries(
    params: dict[str, Any], key: str, config: ResendConfig, client: HTTPClient
) -> tuple[str, int]:
    for attempt in range(1, config.max_attempts + 1):
        try:
            with _sdk_configured(config, client):
                response = resend.Emails.send(params, {"idempotency_key": key})  # type: ignore[arg-type]
            return str(response["id"]), attempt
        except ResendError as error:
            status, name = _status_of(error), str(error.error_type)
            if not _is_transient(status, name):
                raise EmailRejected(
                    f"Resend rejected the email ({status} {name}): {error.message}",
                    status=status,
                    name=name,
                    attempts=attempt,
                ) from error
            if attempt == config.max_attempts or name in QUOTA_ERROR_NAMES:
                raise EmailDeliveryFailed(
                    f"Resend did not accept the email after {attempt} attempt(s) "
                    f"(last: {status} {name}): {error.message}",
                    status=status,
                    name=name,
                    attempts=attempt,
                ) from error
            delay = _delay_before(attempt + 1, _retry_after(error.headers), config)
            logger.warning(
                "email attempt %d/%d failed (%s %s), retrying in %.2f s idempotency_key=%s",
                attempt,
                config.max_attempts,
                status,
                name,
                delay,
                key,
            )
            time.sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def message_params(message: EmailMessage) -> dict[str, Any]:
    """Resend's `POST /emails` body for a Django message."""
    if message.attachments:
        # Dropping them silently would send a different email than the caller built.
        raise ValueError("ResendEmailBackend does not send attachments yet.")
    params: dict[str, Any] = {
        "from": message.from_email,
        "to": list(message.to),
        "subject": message.subject,
    }
    html = _html_alternative(message)
    if message.content_subtype == "html":
        html = html or str(message.body)
    else:
        params["text"] = str(message.body)
    if html is not None:
        params["html"] = html
    for field in ("cc", "bcc", "reply_to"):
        value = list(getattr(message, field))
        if value:
            params[field] = value
    headers = {
        name: str(value)
        for name, value in message.extra_headers.items()
        if name.lower() != IDEMPOTENCY_HEADER.lower()
    }
    if headers:
        params["headers"] = headers
    tags: Mapping[str, str] | None = getattr(message, "tags", None)
    if tags:
        params["tags"] = [{"name": name, "value": value} for name, value in tags.items()]
    return params


def idempotency_key_of(message: EmailMessage) -> str | None:
    for name, value in message.extra_headers.items():
        if name.lower() == IDEMPOTENCY_HEADER.lower():
            return str(value)
    return None


def _html_alternative(message: EmailMessage) -> str | None:
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            return str(content)
    return None


def _status_of(error: ResendError) -> int:
    try:
        return int(error.code)
    except (TypeError, ValueError):
        return 500


def _is_transient(status: int, name: str) -> bool:
    if name == TRANSPORT_ERROR_NAME or status == 429 or status >= 500:
        return True
    # 409 also means "same key with another payload", which no retry can fix.
    return status == 409 and "concurrent" in name


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None


def _delay_before(attempt: int, retry_after: float | None, config: ResendConfig) -> float:
    """Seconds to wait before `attempt` (2, 3, ...): the server's word, else backoff + jitter."""
    if retry_after is not None:
        return min(retry_after, MAX_DELAY_SECONDS)
    backoff = min(config.backoff_seconds * 2.0 ** (attempt - 2), MAX_DELAY_SECONDS)
    # Full jitter on half the window: clients that failed together do not retry together.
    return backoff * random.uniform(0.5, 1.0)  # noqa: S311 - timing, not security
