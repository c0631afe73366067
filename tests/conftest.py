"""The test harness: real PostgreSQL and Redis, two clinics made once per run.

- `django_db_setup` (session): after pytest-django has created the test database and
  migrated `public`, clinic A and clinic B are provisioned once through the real
  provisioning service, with named people: an owner, a practitioner and a receptionist
  of A, and an outsider who owns B. All of it is committed, so a live server thread or a
  Celery worker sees it too.
- Every test that uses the database runs in a transaction rolled back at its end.
- `clinic_client(clinic, user=None)` talks to a clinic by its host, signed in if asked.
- `tests.isolation.markers` seeds A and B identically with marker text.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tests import factories

# The fake Resend server and the `mailbox` fixture, for every test directory.
pytest_plugins = ["tests.support.fake_resend", "tests.support.mailbox"]

# The Redis key prefix of this run, so a test run never reads a developer's (or an earlier
# run's) cached values. Settings are already loaded when this file is imported (pytest-django
# sets Django up first), so the prefix is applied by `_cache_prefix_of_this_run` below; the
# environment variable carries it to the Celery worker processes the tests start.
CACHE_KEY_PREFIX = os.environ.setdefault("CACHE_KEY_PREFIX", f"drcrm-test-{os.getpid()}")


@dataclass(frozen=True)
class World:
    clinic_a: object
    clinic_b: object
    owner_a: object
    practitioner_a: object
    receptionist_a: object
    outsider_b: object


_world: World | None = None


@pytest.fixture(scope="session", autouse=True)
def _cache_prefix_of_this_run() -> Iterator[None]:
    from django.conf import settings
    from django.test import override_settings

    caches = {"default": {**settings.CACHES["default"], "KEY_PREFIX": CACHE_KEY_PREFIX}}
    with override_settings(CACHES=caches):  # setting_changed rebuilds the cache connections
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    global _world
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        _world = factories.build_world()


@pytest.fixture(scope="session")
def world(django_db_setup: None) -> World:
    assert _world is not None
    return _world


# Each test gets its own copies of the shared clinics and people, so a test that changes an
# object in memory (a new password hash, a setting) cannot leak that change into later tests.
@pytest.fixture
def clinic_a(world: World, db: None) -> object:
    return copy.deepcopy(world.clinic_a)


@pytest.fixture
def clinic_b(world: World, db: None) -> object:
    return copy.deepcopy(world.clinic_b)


@pytest.fixture
def owner_a(world: World) -> object:
    return copy.deepcopy(world.owner_a)


@pytest.fixture
def practitioner_a(world: World) -> object:
    return copy.deepcopy(world.practitioner_a)


@pytest.fixture
def receptionist_a(world: World) -> object:
    return copy.deepcopy(world.receptionist_a)


@pytest.fixture
def outsider_b(world: World) -> object:
    return copy.deepcopy(world.outsider_b)


@pytest.fixture(autouse=True)
def _back_to_public_and_cold_routes() -> Iterator[None]:
    """Each test starts on `public` with an empty host map, whatever the last one did."""
    from shared_apps.clinics.routing import forget_cached_routes

    forget_cached_routes()
    yield
    connection.set_schema_to_public()
    forget_cached_routes()


ClientT = TypeVar("ClientT", Client, APIClient)


def client_for(client_class: type[ClientT], clinic: object, user: object | None) -> ClientT:
    """A test client bound to a clinic's host, signed in as `user` if one is given."""
    client = client_class(HTTP_HOST=factories.host_of(clinic))
    if user is not None:
        # The session is written to the clinic's own schema, as a real sign-in would.
        with tenant_context(clinic):
            client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.fixture
def clinic_client(db: None) -> Callable[..., Client]:
    """`clinic_client(clinic, user=None)`: Django's test client on that clinic's host."""
    return lambda clinic, user=None: client_for(Client, clinic, user)


@pytest.fixture
def api_client(db: None) -> Callable[..., APIClient]:
    """`api_client(clinic, user=None)`: DRF's test client on that clinic's host."""
    return lambda clinic, user=None: client_for(APIClient, clinic, user)


@pytest.fixture
def public_client() -> Client:
    from django.conf import settings

    return Client(HTTP_HOST=settings.BASE_DOMAIN)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last.

    Their live server commits for real, and what it writes to the append-only audit trail
    cannot be undone; run last, those rows can never surprise another test.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """Says plainly at the end of the run which browser tests did not run, and why.

    A skipped browser test is easy to miss among the dots; a machine without Chromium must
    not pass for a machine where the UI was checked. An outermost wrapper printing after
    its yield, so the block comes last, below pytest's own short summary.
    """
    yield
    by_reason: dict[str, list[str]] = {}
    for report in terminalreporter.stats.get("skipped", []):
        if "browser" not in report.keywords or not isinstance(report.longrepr, tuple):
            continue
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        by_reason.setdefault(reason, []).append(report.nodeid)
    for reason, nodeids in by_reason.items():
        terminalreporter.write_line("")
        terminalreporter.write_line(f"Browser tests NOT run: {len(nodeids)} ({reason})")
        for nodeid in nodeids:
            terminalreporter.write_line(f"  {nodeid}")
