from __future__ import annotations

import logging as std_logging
import re

from drcrm import request_context


class RequestIdFilter(std_logging.Filter):
    """Adds the current request id to every log record, so one request's lines can be found."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id
        return True


# Paths that carry a one-time secret: invite, password-reset and email-change links.
_SECRET_IN_PATH = re.compile(r"(/(?:invite|password-reset|profile/email)/)[^/\s?\"']+")
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)


def redact_secrets(text: str) -> str:
    """`text` with link tokens and Bearer tokens replaced by a placeholder."""
    return _BEARER.sub(r"\1[redacted]", _SECRET_IN_PATH.sub(r"\1[redacted]", text))


class RedactSecretsFilter(std_logging.Filter):
    """Keeps one-time link tokens out of the log lines Django writes about requests.

    "Not Found: /invite/<token>/" is logged for a link opened on the wrong clinic, and that
    token still works on the right one; whoever reads the logs must not be able to use it.
    Installed on the loggers themselves (not a handler), so every handler sees the redacted
    line.
    """

    def filter(self, record: std_logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
