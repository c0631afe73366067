"""The clinic's settings page: details, and the security policy owners choose."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from shared_apps.accounts.access import capability_view
from shared_apps.accounts.roles import Capability, role_can
from shared_apps.clinics.forms import ClinicSecurityForm
from shared_apps.clinics.services import clinic_security_update


@capability_view(Capability.CLINIC_SETTINGS)
@require_http_methods(["GET", "POST"])
def clinic_settings(request: HttpRequest) -> HttpResponse:
    clinic = request.tenant  # type: ignore[attr-defined]
    may_change_security = role_can(request.membership.role, Capability.CLINIC_SECURITY)  # type: ignore[attr-defined]
    initial = {
        "session_idle_minutes": clinic.session_idle_minutes,
        "require_two_factor": clinic.require_two_factor,
    }
    form = ClinicSecurityForm(request.POST if request.method == "POST" else None, initial=initial)
    if not may_change_security:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST":
        if not may_change_security:
            return render(
                request, "clinics/settings.html", {"form": form, "read_only": True}, status=403
            )
        if form.is_valid():
            clinic_security_update(
                actor=request.user,  # type: ignore[arg-type]
                clinic=clinic,
                session_idle_minutes=form.cleaned_data["session_idle_minutes"],
                require_two_factor=form.cleaned_data["require_two_factor"],
            )
            messages.success(request, "Security settings saved.")
            return redirect("settings")
    context = {"form": form, "read_only": not may_change_security}
    return render(request, "clinics/settings.html", context, status=400 if form.errors else 200)
