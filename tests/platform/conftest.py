"""A real Celery worker for the platform tests: a separate process, real Redis, real PostgreSQL.

`celery_worker` (session) starts `celery -A drcrm worker` once clinics A and B exist in the
test database, on a queue of its own, so this run never takes (or leaves) work for another
worker on the same Redis, and stops it before pytest-django drops the test database. Its
email goes through the Resend backend to the session's fake Resend (`fake_resend`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests.support.fake_resend import FakeResend

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class CeleryWorker:
    queue: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no worker log written)"
        return "\n".join(text.splitlines()[-lines:])


def worker_database_url() -> str:
    """The URL of the database pytest-django created (`test_<name>`), not the developer's.

    Only the path changes: credentials, host and the query string (the embedded server's
    `?host=/socket/dir`) are what the test process itself uses.
    """
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))


def _worker_env(resend: FakeResend) -> dict[str, str]:
    env = dict(os.environ)  # same REDIS_URL, CACHE_KEY_PREFIX, broker and backend as this run
    # The worker's mail goes to the fake Resend, never to a developer's real account
    # (and a `<NAME>_FILE` would win over NAME in settings.env(): drop those too).
    for name, value in resend.worker_env().items():
        env.pop(f"{name}_FILE", None)
        env[name] = value
    # settings.env() prefers NAME_FILE over NAME: drop it so the test database URL wins.
    env.pop("DATABASE_URL_FILE", None)
    env["DATABASE_URL"] = worker_database_url()
    env["PYTHONUNBUFFERED"] = "1"  # a log tail that is complete when the worker dies
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # SIGTERM: warm shutdown, lets the worker close its DB connection
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _wait_until_ready(worker: CeleryWorker) -> None:
    """A platform_ping round trip through the worker's queue, or a failure with its log.

    The ping may be sent before the worker listens: it waits in the queue (a Redis list)
    until the worker consumes it, so one message is enough; polling `ready()` lets us notice
    a worker that died at start-up instead of sitting out the whole timeout.
    """
    from drcrm.tasks import platform_ping

    result = platform_ping.delay()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(
                f"The Celery worker exited with code {worker.process.returncode} during "
                f"start-up. Log tail ({worker.log_path}):\n{worker.log_tail()}",
                pytrace=False,
            )
        if result.ready():
            reply = result.get(timeout=1)
            assert reply == {"schema_name": "public"}, reply
            return
        time.sleep(0.1)
    pytest.fail(
        f"The Celery worker did not answer a platform_ping on queue {worker.queue!r} within "
        f"{START_TIMEOUT_SECONDS:.0f} s. Log tail ({worker.log_path}):\n{worker.log_tail()}",
        pytrace=False,
    )


def _delete_queue(queue: str) -> None:
    """Drop the run's queue from Redis: its binding and anything a failed start left in it.

    kombu deletes only bindings its channel knows of, so the queue is declared (a no-op on
    Redis beyond registering the binding) on a fresh channel before it is deleted.
    """
    from drcrm.celery import app

    with app.connection_for_write() as conn:
        bound = app.amqp.queues[queue].bind(conn.default_channel)
        bound.declare()
        bound.delete()


@pytest.fixture(scope="session")
def celery_worker(
    world: object,
    tmp_path_factory: pytest.TempPathFactory,
    fake_resend_server: FakeResend,
) -> Iterator[CeleryWorker]:
    """One `--pool solo` worker for the session, consuming only this run's queue.

    Depends on `world` so clinics A and B are committed before the worker can look them up.
    """
    from drcrm.celery import app

    queue = f"drcrm-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    celery_bin = Path(sys.executable).with_name("celery")
    assert celery_bin.exists(), f"{celery_bin} missing: run `make install`"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    # fmt: off
    command = [
        str(celery_bin), "-A", "drcrm", "worker",
        "--pool", "solo", "--concurrency", "1", "-Q", queue,
        "--hostname", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "INFO",
    ]
    # fmt: on
    previous_queue = app.conf.task_default_queue
    # Route everything this process sends to the worker's queue (read per send by the router).
    app.conf.task_default_queue = queue
    env = _worker_env(fake_resend_server)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = CeleryWorker(queue=queue, process=process, log_path=log_path)
    try:
        _wait_until_ready(worker)
        yield worker
    finally:
        _stop(process)
        app.conf.task_default_queue = previous_queue
        _delete_queue(queue)
