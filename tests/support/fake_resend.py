"""A local stand-in for Resend's email API: a real HTTP server on 127.0.0.1.

It speaks `POST /emails` the way https://resend.com/docs/api-reference/emails/send-email
and /errors describe it: a Bearer `re_...` key (401 missing_api_key, 403 invalid_api_key),
required `from`/`to`/`subject` (422 missing_required_field), addresses in `a@b` or
`Name <a@b>` form (422 validation_error), at most 50 recipients, `html` or `text`, tag
names and values of ASCII letters, digits, `_` and `-`, and `Idempotency-Key` (1-256
characters, else 400 invalid_idempotency_key; the same key with the same body answers the
first response again and records nothing new; with another body, 409
invalid_idempotent_request). A success is `200 {"id": "<uuid>"}`. Resend's 409 for two
requests with one key in flight at once is not modelled.

Tests script failures ahead of the normal answer:

    fake_resend.script(Reply.error(429, retry_after=0))  # the next request gets a 429
    fake_resend.always(Reply.error(500))                  # every request, until reset()
    fake_resend.script(Reply.slow(1.0))                   # answers (normally) after 1 s

Fixtures: `fake_resend_server` (session: one server, so a Celery worker started once can
be pointed at it through `worker_env()`) and `fake_resend` (per test: the server reset, and
Django's settings pointing the Resend backend at it with tiny backoff).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

RESEND_BACKEND = "drcrm.email_backend.ResendEmailBackend"
MAX_RECIPIENTS = 50
_ADDRESS = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
_NAMED_ADDRESS = re.compile(r'^\s*(?:"[^"]*"|[^"<>]*)\s*<([^<>]+)>\s*$')
_TAG_PART = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class Reply:
    """A scripted answer. `status=None` means "answer as Resend would" (after `delay`)."""

    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def error(
        cls,
        status: int,
        name: str | None = None,
        message: str = "",
        retry_after: float | None = None,
    ) -> Reply:
        default_names = {429: "rate_limit_exceeded", 500: "internal_server_error"}
        name = name or default_names.get(status, "application_error")
        headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
        body = {"statusCode": status, "name": name, "message": message or f"Scripted {name}."}
        return cls(status=status, body=body, headers=headers)

    @classmethod
    def slow(cls, seconds: float) -> Reply:
        return cls(delay=seconds)


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any


@dataclass(frozen=True)
class SentEmail:
    """An email the fake accepted (once per idempotency key)."""

    id: str
    body: dict[str, Any]
    idempotency_key: str | None


class FakeResend:
    def __init__(self) -> None:
        self.api_key = "re_test_" + secrets.token_hex(12)
        self._lock = threading.Lock()
        self._generation = 0
        self._script: deque[Reply] = deque()
        self._always: Reply | None = None
        self._idempotent: dict[str, tuple[str, str]] = {}  # key -> (canonical body, id)
        self.requests: list[ReceivedRequest] = []
        self.emails: list[SentEmail] = []
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeResend:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget everything; answers still on their way (slow replies) record nothing."""
        with self._lock:
            self._generation += 1
            self._script.clear()
            self._always = None
            self._idempotent.clear()
            self.requests.clear()
            self.emails.clear()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def always(self, reply: Reply) -> None:
        with self._lock:
            self._always = reply

    def worker_env(self) -> dict[str, str]:
        """Environment for a separate process (a Celery worker) to send its mail here."""
        return {
            "EMAIL_BACKEND": RESEND_BACKEND,
            "RESEND_API_KEY": self.api_key,
            "RESEND_API_URL": self.url,
            "RESEND_BACKOFF_SECONDS": "0.01",
            "RESEND_TIMEOUT_SECONDS": "5",
        }

    def wait_for_emails(self, count: int, timeout: float = 30.0) -> list[SentEmail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.emails) >= count:
                    return list(self.emails)
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} email(s) within {timeout:g} s, got {len(self.emails)}"
        )

    # --- the server side ------------------------------------------------------------------

    def _arrive(self, request: ReceivedRequest) -> tuple[int, Reply | None]:
        with self._lock:
            self.requests.append(request)
            reply = self._script.popleft() if self._script else self._always
            return self._generation, reply

    def _answer(
        self, generation: int, request: ReceivedRequest
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        error = _authorization_error(request.headers, self.api_key) or _body_error(request.body)
        if error is not None:
            return error
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 256:
            return _error(400, "invalid_idempotency_key", "The key must be between 1-256 chars.")
        canonical = json.dumps(request.body, sort_keys=True)
        with self._lock:
            if key is not None and key in self._idempotent:
                first_body, email_id = self._idempotent[key]
                if first_body != canonical:
                    return _error(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a different request payload.",
                    )
                return 200, {"id": email_id}, {}
            email_id = str(uuid.uuid4())
            if generation == self._generation:
                if key is not None:
                    self._idempotent[key] = (canonical, email_id)
                self.emails.append(SentEmail(id=email_id, body=request.body, idempotency_key=key))
        return 200, {"id": email_id}, {}


def _error(status: int, name: str, message: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"statusCode": status, "name": name, "message": message}, {}


def _authorization_error(
    headers: dict[str, str], api_key: str
) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    authorization = headers.get("authorization", "")
    if not authorization.startswith("Bearer ") or not authorization[7:].strip():
        return _error(401, "missing_api_key", "Missing API key in the authorization header.")
    if authorization[7:] != api_key or not api_key.startswith("re_"):
        return _error(403, "invalid_api_key", "API key is invalid")
    return None


def _valid_address(value: object) -> bool:
    if not isinstance(value, str):
        return False
    named = _NAMED_ADDRESS.match(value)
    return bool(_ADDRESS.match(named.group(1).strip() if named else value.strip()))


def _body_error(body: Any) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    if not isinstance(body, dict):
        return _error(400, "validation_error", "Invalid JSON body.")
    for name in ("from", "to", "subject"):
        if not body.get(name):
            return _error(422, "missing_required_field", f"Missing `{name}` field.")
    if not _valid_address(body["from"]):
        return _error(
            422,
            "validation_error",
            "Invalid `from` field. The email address needs to follow the "
            "`email@example.com` or `Name <email@example.com>` format.",
        )
    for name in ("to", "cc", "bcc", "reply_to"):
        value = body.get(name)
        if value is None:
            continue
        addresses = [value] if isinstance(value, str) else value
        if not isinstance(addresses, list) or not all(map(_valid_address, addresses)):
            return _error(
                422,
                "validation_error",
                f"Invalid `{name}` field. The email address needs to follow the "
                "`email@example.com` or `Name <email@example.com>` format.",
            )
        if len(addresses) > MAX_RECIPIENTS:
            return _error(422, "validation_error", f"Too many recipients in `{name}` (max 50).")
    if not body.get("html") and not body.get("text"):
        return _error(422, "missing_required_field", "Missing `html` or `text` field.")
    for tag in body.get("tags") or []:
        if not all(_TAG_PART.match(str(tag.get(part, ""))) for part in ("name", "value")):
            return _error(
                422,
                "validation_error",
                "Tags should only contain ASCII letters, numbers, underscores, or dashes.",
            )
    headers = body.get("headers")
    if headers is not None and not (
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
    ):
        return _error(422, "validation_error", "Invalid `headers` field.")
    return None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True  # a slow reply still sleeping never holds up the test run

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out closed its socket before our (late) answer


def _handler_for(fake: FakeResend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = None
            request = ReceivedRequest(
                method="POST",
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            if self.path != "/emails":
                self._send(*_error(404, "not_found", "The requested endpoint does not exist."))
                return
            generation, reply = fake._arrive(request)
            if reply is not None and reply.delay:
                time.sleep(reply.delay)
            if reply is not None and reply.status is not None:
                self._send(reply.status, reply.body, reply.headers)
                return
            self._send(*fake._answer(generation, request))

        def do_GET(self) -> None:
            self._send(*_error(405, "method_not_allowed", "Method is not allowed."))

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("ratelimit-limit", "2")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests read `fake.requests`; stderr stays for real problems

    return Handler


@pytest.fixture(scope="session")
def fake_resend_server() -> Iterator[FakeResend]:
    server = FakeResend().start()
    yield server
    server.stop()


@pytest.fixture
def fake_resend(fake_resend_server: FakeResend, settings: Any) -> Iterator[FakeResend]:
    """The fake Resend, emptied, with this process's email going to it via the real backend."""
    fake_resend_server.reset()
    settings.EMAIL_BACKEND = RESEND_BACKEND
    settings.RESEND_API_KEY = fake_resend_server.api_key
    settings.RESEND_API_URL = fake_resend_server.url
    settings.RESEND_BACKOFF_SECONDS = 0.01
    settings.RESEND_TIMEOUT_SECONDS = 5.0
    yield fake_resend_server
    fake_resend_server.reset()
