"""Signing in and out of a clinic."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.access import member_view, public_view
from shared_apps.accounts.forms import SignInForm
from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sign_in_locked_message, sign_in_locked_until
from shared_apps.accounts.services import (
    sign_in_failure_record,
    sign_in_failures_clear,
    sign_out_record,
)
from shared_apps.accounts.signin import pending_sign_in_start, safe_next, sign_in_complete
from shared_apps.two_factor.selectors import SecondFactorStep, second_factor_step


@public_view
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    clinic = request.tenant  # type: ignore[attr-defined]
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if getattr(request, "membership", None) is not None:
        return redirect(next_url)
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        email = _well_formed_email(request.POST.get("username", ""))
        locked_until = sign_in_locked_until(clinic_id=clinic.pk, email=email) if email else None
        if locked_until is not None:
            # Locked: the password is not even checked, so guessing on gains nothing.
            form.is_valid()  # populate cleaned data for re-display
            form.errors.clear()
            form.add_error(None, sign_in_locked_message(locked_until))
        elif form.is_valid():
            user: User = form.get_user()
            sign_in_failures_clear(clinic_id=clinic.pk, email=email)
            return _after_password(request, user, next_url)
        elif email:  # a well-formed address with a wrong password
            locked_until = sign_in_failure_record(clinic_id=clinic.pk, email=email)
            if locked_until is not None:
                form.errors.clear()
                form.add_error(None, sign_in_locked_message(locked_until))
    status = 200 if not form.errors else 400
    context = {"form": form, "next": next_url}
    return render(request, "accounts/sign_in.html", context, status=status)


def _well_formed_email(raw: str) -> str:
    """The typed address, lower-cased, or "" if it is not one (then nothing is counted)."""
    try:
        return str(forms.EmailField().clean(raw)).lower()
    except ValidationError:
        return ""


def _after_password(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    clinic = request.tenant  # type: ignore[attr-defined]
    step = second_factor_step(user=user, require_two_factor=clinic.require_two_factor)
    if step == SecondFactorStep.NONE:
        sign_in_complete(request, user, method="password")
        return redirect(next_url)
    pending_sign_in_start(request, user, next_url=next_url)
    if step == SecondFactorStep.ENROL:
        return redirect("two-factor-enrol")
    return redirect("two-factor-verify")


@member_view
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    sign_out_record(user=request.user, reason="sign_out")  # type: ignore[arg-type]
    logout(request)  # deletes the session row: the old cookie is worthless from now on
    messages.info(request, "You have signed out.")
    return redirect("sign-in")
