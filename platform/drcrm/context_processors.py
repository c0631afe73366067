from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from shared_apps.accounts.roles import capabilities_of


def site(request: HttpRequest) -> dict[str, object]:
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    return {
        "clinic": tenant
        if tenant is not None and not getattr(tenant, "is_public", False)
        else None,
        "membership": membership,
        # `{% if can.staff_manage %}`: what the signed-in member's role allows (roles.py).
        "can": {
            capability.value.replace(".", "_"): True
            for capability in (capabilities_of(membership.role) if membership else ())
        },
        "public_site_url": public_site_url(),
    }


def public_site_url() -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{port}/"
