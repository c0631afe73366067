"""`run_committed(work)`: run `work` on a database connection of its own, committed.

Tests run inside a transaction that is rolled back; a Celery worker process cannot see
what they wrote. Work run here (in a thread, with its own connection) commits for real, so
the test that uses it must undo it afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_committed(work: Callable[[], Any]) -> Any:
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0] if result else None
