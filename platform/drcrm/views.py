"""Pages of the platform itself: the public landing page and the clinic shell."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from shared_apps.accounts.access import capability_view, member_view, public_view
from shared_apps.accounts.roles import Capability, role_can
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.selectors import day_summary


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
    today = None
    membership = getattr(request, "membership", None)
    if membership is not None and role_can(membership.role, Capability.CALENDAR_VIEW):
        zone = clinic_zone()
        today = day_summary(day=timezone.localdate(timezone.now(), zone), zone=zone)
    return render(request, "clinic/dashboard.html", {"today": today})


def _coming_soon(area: str, capability: Capability) -> Callable[[HttpRequest], HttpResponse]:
    """An area whose issue has not landed yet (Billing): says so plainly."""

    @capability_view(capability)
    @require_GET
    def area_page(request: HttpRequest) -> HttpResponse:
        return render(request, "clinic/coming_soon.html", {"area": area})

    return area_page


billing = _coming_soon("Billing", Capability.BILLING_VIEW)
