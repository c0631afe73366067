"""Liveness and readiness probes. No authentication, no data: only "ok" or what is down."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def liveness() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except Exception:
        logger.warning("readiness: the database does not answer", exc_info=True)
        return False


def _redis_answers() -> bool:
    try:
        client = cache._cache.get_client()  # type: ignore[attr-defined]
        return bool(client.ping())
    except Exception:
        logger.warning("readiness: Redis does not answer", exc_info=True)
        return False


def readiness() -> JsonResponse:
    checks = {
        "database": "ok" if _database_answers() else "down",
        "redis": "ok" if _redis_answers() else "down",
    }
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "down", "checks": checks}, status=200 if ready else 503
    )
