"""Pages of the platform itself: the public landing page and the clinic shell."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shared_apps.accounts.access import capability_view, member_view, public_view
from shared_apps.accounts.roles import Capability


@public_view
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "public/landing.html")


@public_view
@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "public/privacy.html")


@member_view
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "clinic/dashboard.html")


def _coming_soon(area: str, capability: Capability) -> Callable[[HttpRequest], HttpResponse]:
    """An area whose issue has not landed yet (Billing): says so plainly."""

    @capability_view(capability)
    @require_GET
    def area_page(request: HttpRequest) -> HttpResponse:
        return render(request, "clinic/coming_soon.html", {"area": area})

    return area_page


billing = _coming_soon("Billing", Capability.BILLING_VIEW)
