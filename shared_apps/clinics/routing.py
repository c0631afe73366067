"""Host -> clinic routing with an in-process cache.

Every request needs to know which clinic its host belongs to. Asking PostgreSQL each time
costs a round trip per request, so each worker keeps a host map in memory.

Invalidation: any change to a Clinic or Domain row clears this process' map at once and
bumps a generation number in Redis (after commit). Other workers compare the generation
they filled their map under with Redis' at most every CLINIC_ROUTING_CHECK_INTERVAL
seconds (a Redis round trip costs about as much as the query it saves, so not on every
request) and drop their map when it changed: a suspension reaches every worker within
that interval. If Redis does not answer, a worker cannot tell whether its map is stale,
so it trusts it for CLINIC_ROUTING_FALLBACK_TTL seconds at most.
"""

from __future__ import annotations

import copy
import enum
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django_tenants.utils import schema_context, schema_exists

from shared_apps.clinics.models import Clinic, Domain

logger = logging.getLogger(__name__)

GENERATION_KEY = "clinic-routing-generation"
MAX_CACHED_HOSTS = 10_000  # unknown hosts are cached too; a scanner must not grow us forever


class RouteKind(enum.Enum):
    PUBLIC = "public"
    CLINIC = "clinic"
    UNKNOWN = "unknown"
    NO_SCHEMA = "no_schema"


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    clinic: Clinic | None = None

    def clinic_for_request(self) -> Clinic:
        """A private copy: middleware sets attributes on it (domain_url) per request."""
        if self.clinic is None:
            raise LookupError(f"a {self.kind.value} route has no clinic")
        return copy.copy(self.clinic)


PUBLIC_ROUTE = Route(RouteKind.PUBLIC)
UNKNOWN_ROUTE = Route(RouteKind.UNKNOWN)


class _HostMap:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, Route] = {}
        self._generation: Any = None
        self._filled_at = 0.0
        self._checked_at = float("-inf")

    def get(self, hostname: str) -> Route:
        self._drop_if_stale()
        route = self._routes.get(hostname)
        if route is None:
            route = _load_route(hostname)
            with self._lock:
                if len(self._routes) >= MAX_CACHED_HOSTS:
                    self._routes.clear()
                self._routes[hostname] = route
        return route

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()
            self._generation = None
            self._checked_at = float("-inf")

    def _drop_if_stale(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < settings.CLINIC_ROUTING_CHECK_INTERVAL:
            return
        self._checked_at = now
        try:
            generation = _read_generation()
        except Exception:  # Redis down: fall back to the time-to-live (see module docstring)
            if time.monotonic() - self._filled_at > settings.CLINIC_ROUTING_FALLBACK_TTL:
                self._reset(generation=None)
            return
        if generation != self._generation:
            self._reset(generation=generation)

    def _reset(self, *, generation: Any) -> None:
        with self._lock:
            self._routes.clear()
            self._generation = generation
            self._filled_at = time.monotonic()


_host_map = _HostMap()


def resolve_host(hostname: str) -> Route:
    """Which site a (lower-case, port-less) host name serves."""
    if hostname in settings.PUBLIC_HOSTS:
        return PUBLIC_ROUTE
    return _host_map.get(hostname)


def forget_cached_routes() -> None:
    """Drop this process' host map (tests, and after bulk registry changes)."""
    _host_map.clear()


def _load_route(hostname: str) -> Route:
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    if domain is None:
        return UNKNOWN_ROUTE
    clinic: Clinic = domain.tenant
    if not schema_exists(clinic.schema_name):
        # A registry row whose schema is gone (a failed restore, a manual drop): refuse the
        # host instead of letting every query fail with "relation does not exist".
        logger.warning("Clinic %s has no schema %s", clinic.pk, clinic.schema_name)
        return Route(RouteKind.NO_SCHEMA, clinic)
    return Route(RouteKind.CLINIC, clinic)


def _read_generation() -> Any:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return cache.get(GENERATION_KEY)


def _bump_generation() -> None:
    _host_map.clear()
    try:
        # A fresh random token rather than a counter: nothing to initialise, and two
        # processes bumping at once still leave a value every worker sees as new.
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning("Could not publish a clinic routing change; other workers rely on TTL")


def _registry_changed(**_kwargs: object) -> None:
    transaction.on_commit(_bump_generation)


def connect_invalidation_signals() -> None:
    for model in (Clinic, Domain):
        post_save.connect(_registry_changed, sender=model, dispatch_uid=f"routing-save-{model}")
        post_delete.connect(_registry_changed, sender=model, dispatch_uid=f"routing-del-{model}")
