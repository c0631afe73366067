"""Where the current request came from, for logs and audit rows, without passing requests
into services (services never take request objects)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = "-"
    client_ip: str | None = None
    source: str = "system"  # "web", "api", "task:<name>", "command:<name>", "system"


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "drcrm_request_context",
    default=RequestContext(),  # noqa: B039 -- a frozen dataclass, never mutated
)


def current() -> RequestContext:
    return _current.get()


def activate(context: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(context)


def deactivate(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
