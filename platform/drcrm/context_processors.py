from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    tenant = getattr(request, "tenant", None)
    return {
        "clinic": tenant
        if tenant is not None and not getattr(tenant, "is_public", False)
        else None,
        "membership": getattr(request, "membership", None),
        "public_site_url": public_site_url(),
    }


def public_site_url() -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{port}/"
