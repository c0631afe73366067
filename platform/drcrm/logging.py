from __future__ import annotations

import logging as std_logging

from drcrm import request_context


class RequestIdFilter(std_logging.Filter):
    """Adds the current request id to every log record, so one request's lines can be found."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id
        return True
