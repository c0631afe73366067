"""Clinic tasks run in the clinic that enqueued them, and nowhere else.

Everything here goes through a real worker process (`celery_worker`, see conftest.py): the
schema travels in a message header through Redis, the worker switches its own PostgreSQL
connection, and the result comes back through the Redis result backend. Nothing is eager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery.signals import after_task_publish
from django.db import transaction
from django_tenants.utils import tenant_context

from drcrm.celery import app
from drcrm.tasks import ClinicContextMissing, clinic_ping, enqueue_on_commit, platform_ping
from tests.platform.conftest import CeleryWorker

RESULT_TIMEOUT = 30

pytestmark = pytest.mark.usefixtures("celery_worker")


@pytest.fixture(autouse=True)
def _never_eager() -> None:
    # An eager app would run tasks in this process and prove nothing about the worker.
    assert not app.conf.task_always_eager


@pytest.fixture
def published() -> Iterator[list[dict[str, Any]]]:
    """Every task message this process hands to the broker during the test.

    Celery's own publish signal, so `enqueue_on_commit` is observed exactly where it matters:
    whether (and with which schema header) a message has left for Redis.
    """
    sent: list[dict[str, Any]] = []

    def record(sender: str, headers: dict[str, Any], routing_key: str, **_: Any) -> None:
        sent.append({"task": sender, "id": headers["id"], "headers": headers, "queue": routing_key})

    after_task_publish.connect(record, weak=False)
    yield sent
    after_task_publish.disconnect(record)


def expect_clinic(result: Any, clinic: Any) -> None:
    assert result.get(timeout=RESULT_TIMEOUT) == {
        "schema_name": clinic.schema_name,
        "clinic_id": clinic.pk,
    }


def expect_refusal(result: Any) -> None:
    with pytest.raises(ClinicContextMissing, match="needs a clinic"):
        result.get(timeout=RESULT_TIMEOUT)
    # The failure was recorded by the worker under the real exception type, not a timeout
    # or some other error that would also make `get` raise.
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == "ClinicContextMissing"
    assert "drcrm.clinic_ping needs a clinic" in str(result.result)


def test_a_clinic_task_runs_in_the_schema_of_the_clinic_that_enqueued_it(
    clinic_a: Any, clinic_b: Any
) -> None:
    assert clinic_a.schema_name != clinic_b.schema_name
    with tenant_context(clinic_a):
        from_a = clinic_ping.delay()
    with tenant_context(clinic_b):
        from_b = clinic_ping.delay()

    # The worker handles A then B on one connection: B must not be served from A's switch.
    expect_clinic(from_a, clinic_a)
    expect_clinic(from_b, clinic_b)


def test_a_clinic_task_enqueued_from_public_refuses_to_run() -> None:
    expect_refusal(clinic_ping.delay())


def test_the_next_task_on_the_worker_does_not_inherit_the_previous_clinic(
    clinic_a: Any, celery_worker: CeleryWorker
) -> None:
    with tenant_context(clinic_a):
        expect_clinic(clinic_ping.delay(), clinic_a)

    # One solo worker, so these run on the very connection that just served clinic A.
    assert celery_worker.process.poll() is None
    assert platform_ping.delay().get(timeout=RESULT_TIMEOUT) == {"schema_name": "public"}
    with tenant_context(clinic_a):
        expect_clinic(clinic_ping.delay(), clinic_a)
    expect_refusal(clinic_ping.delay())


def test_enqueue_on_commit_sends_after_commit_in_the_schema_active_when_called(
    clinic_a: Any,
    published: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # The test's transaction never commits; the capture runs the on-commit callbacks when the
    # block ends, as a real commit would.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with tenant_context(clinic_a):
            enqueue_on_commit(clinic_ping)
        assert published == [], "sent before the transaction committed"
    assert len(callbacks) == 1  # filled in by the capture as the block ends
    # The "commit" happens on `public`: the message must still carry A, the schema of the call.
    assert len(published) == 1
    message = published[0]
    assert message["task"] == "drcrm.clinic_ping"
    assert message["headers"]["_schema_name"] == clinic_a.schema_name
    expect_clinic(app.AsyncResult(message["id"]), clinic_a)


def test_enqueue_on_commit_sends_nothing_when_the_transaction_rolls_back(
    clinic_a: Any,
    published: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    class Abort(Exception):
        pass

    def enqueue_then_fail() -> None:
        with transaction.atomic(), tenant_context(clinic_a):
            enqueue_on_commit(clinic_ping)
            raise Abort

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # Rolling the savepoint back must drop the send registered inside it.
        with pytest.raises(Abort):
            enqueue_then_fail()
        # A committed sibling proves the capture really runs what survives.
        enqueue_on_commit(platform_ping)
    assert len(callbacks) == 1
    assert [message["task"] for message in published] == ["drcrm.platform_ping"]
    result = app.AsyncResult(published[0]["id"])
    assert result.get(timeout=RESULT_TIMEOUT) == {"schema_name": "public"}
