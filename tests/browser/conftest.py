"""Browser tests: Debian's Chromium, driven by Playwright, against a live server thread.

- Chromium is the distribution's (`apt-get install chromium`), launched through
  `executable_path`: Playwright's own browser download is not used. `CHROMIUM_PATH`
  points elsewhere. Without it every `@pytest.mark.browser` test is skipped with the fix
  in its reason, and tests/conftest.py prints a "Browser tests NOT run" block at the end.
- One live server for the whole run, started after `world`, so clinics A and B and their
  people are committed before the first request. pytest-django's `live_server` is not
  used: it needs `transactional_db`, whose flush would truncate the clinic registry.
- One Chromium for all the browser tests (see `chromium` for why it is package-scoped),
  a fresh browser context (cookies, storage) per test, and a screenshot of each test's
  final page in test-results/ for people to look at.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections
from django.test.testcases import LiveServerThread
from django_tenants.utils import schema_context
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from shared_apps.accounts.models import SignInThrottle, User
from shared_apps.clinics.models import Clinic
from shared_apps.user_sessions.models import UserSession
from tests.conftest import World

CHROMIUM_PATH = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM_PATH}: install Debian's chromium "
    "(apt-get install chromium) or set CHROMIUM_PATH"
)
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No calls home (updates, sync, field trials): the only traffic is to the live server.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
# Fail fast: every page here is served locally in milliseconds, Playwright's 30 s default
# only makes a broken test slow to report.
ACTION_TIMEOUT_MS = 10_000


def chromium_available() -> bool:
    return CHROMIUM_PATH.is_file() and os.access(CHROMIUM_PATH, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = None if chromium_available() else pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if item.get_closest_marker("browser") is None:
            continue
        if item.get_closest_marker("django_db") is None:
            # pytest-django creates the test database only if some collected test asks for
            # it, and the server thread needs it even when only browser tests are run. The
            # marker also lets the server thread through pytest-django's database blocker
            # (process-wide) for the test's duration. Its rollback covers only the test's
            # own connection; what the server commits is undone by `undo_live_writes`.
            item.add_marker(pytest.mark.django_db)
        if skip is not None:
            # At collection, not in a fixture: nothing is started for tests that can't run.
            item.add_marker(skip)


class NewPage(Protocol):
    def __call__(self, *, viewport: ViewportSize = ..., **context_options: Any) -> Page: ...


@dataclass(frozen=True)
class LiveSite:
    """Addresses on the live server: the public site and each clinic's own host."""

    port: int

    def public_url(self, path: str = "/") -> str:
        return f"http://{settings.BASE_DOMAIN}:{self.port}{path}"

    def clinic_url(self, subdomain: str, path: str = "/") -> str:
        # Chromium resolves every *.localhost name to loopback itself (no /etc/hosts).
        return f"http://{subdomain}.{settings.BASE_DOMAIN}:{self.port}{path}"


@pytest.fixture(scope="session")
def live_site(world: World) -> Iterator[LiveSite]:
    """A real HTTP server in a thread of this process, serving the committed `world`.

    Each request thread closes its database connections when the browser closes the
    socket (every test closes its browser context), so none is left open when the test
    database is dropped at the end of the run.
    """
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True  # a hung request must not keep pytest alive at exit
    server.start()
    server.is_ready.wait(timeout=30)
    if server.error is not None:
        raise server.error
    yield LiveSite(port=server.port)
    server.terminate()


def _in_a_connection_of_its_own(work: Callable[[], None]) -> None:
    """Runs `work` in a short-lived thread, hence on a database connection of its own.

    The test's own connection sits in the transaction `django_db` rolls back, so a cleanup
    of what the server committed must not run there: it would be rolled back with it.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="browser-test-cleanup")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture
def undo_live_writes(world: World) -> Iterator[None]:
    """Puts back what a browser test committed through the server, for the tests after it.

    A real sign-in writes session rows into the clinic's schema and stamps the person's
    `last_login`, committed by the server thread as in production; later tests should find
    the clinics and people as build_world left them.
    """
    yield

    # World types its fields loosely (object); these are what build_world made.
    clinics = cast("tuple[Clinic, ...]", (world.clinic_a, world.clinic_b))
    people = cast(
        "tuple[User, ...]",
        (world.owner_a, world.practitioner_a, world.receptionist_a, world.outsider_b),
    )

    def undo() -> None:
        for clinic in clinics:
            with schema_context(clinic.schema_name):
                UserSession.objects.all().delete()
        SignInThrottle.objects.all().delete()
        for person in people:
            # The in-memory objects still hold the values build_world gave them.
            User.objects.filter(pk=person.pk).update(last_login=person.last_login)

    _in_a_connection_of_its_own(undo)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One Chromium for all the browser tests, gone before any other test runs.

    Package-scoped, not session-scoped, on purpose. While Playwright's sync API is alive
    it marks its asyncio loop as running in this thread, between calls too, and that
    changes Django for every test still to come: database connections move to a separate
    per-context store, `async_to_sync` refuses to run, and the async-safety check fires.
    So Playwright lives exactly as long as the tests in tests/browser (which run as one
    block), and is set up before any function-scoped fixture, `django_db`'s transaction
    included, so each test sees one connection throughout.
    """
    if not chromium_available():  # a browser test that forgot its marker still skips
        pytest.skip(CHROMIUM_MISSING)
    # With the loop marked running, Django refuses database calls from this thread. The
    # loop is Playwright's and no Django code runs on it, so the check is a false alarm.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        # The connections opened while the loop was marked running live in that separate
        # store; closed now, while it is still the one in view, or they stay open and
        # pytest-django cannot drop the test database at the end of the run.
        connections.close_all()
        playwright.stop()
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _screenshot_name(nodeid_name: str, index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", nodeid_name).strip("-")
    return f"{stem}.png" if index == 0 else f"{stem}-{index + 1}.png"


@pytest.fixture
def new_page(
    chromium: Browser,
    live_site: LiveSite,
    undo_live_writes: None,
    request: pytest.FixtureRequest,
) -> Iterator[NewPage]:
    """`new_page(viewport=PHONE, **context_options)`: a page in a fresh browser context.

    At the end of the test each page is screenshotted into test-results/ and checked for
    uncaught JavaScript errors, then its context is closed: before `undo_live_writes` and
    the test's database access end, so no request is still in flight by then.
    """
    opened: list[tuple[Page, list[str]]] = []

    def make(*, viewport: ViewportSize = DESKTOP, **context_options: Any) -> Page:
        context = chromium.new_context(viewport=viewport, **context_options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        opened.append((page, errors))
        return page

    yield make

    SCREENSHOTS_DIR.mkdir(exist_ok=True)
    js_errors: list[str] = []
    for index, (page, errors) in enumerate(opened):
        try:
            page.screenshot(
                path=SCREENSHOTS_DIR / _screenshot_name(request.node.name, index), full_page=True
            )
        finally:
            page.context.close()
        js_errors += errors
    assert not js_errors, f"Uncaught JavaScript errors: {js_errors}"


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A desktop-sized page in a fresh browser context."""
    return new_page()
