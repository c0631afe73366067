"""Pages of the platform itself: the public landing page and the clinic shell."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from drcrm.forms import SignInForm


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "public/landing.html")


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "public/privacy.html")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "clinic/dashboard.html")


@login_required
@require_GET
def area_placeholder(request: HttpRequest, area: str) -> HttpResponse:
    """Patients, Calendar, Billing and Settings until their issues land: says so plainly."""
    return render(request, "clinic/coming_soon.html", {"area": area})


class SignInView(auth_views.LoginView):
    template_name = "clinic/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    next_page = "sign-in"
