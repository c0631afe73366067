"""Signup pages on the public site, and the hand-off page on the new clinic's own host.

The public site keeps no session and sets no cookie, so these forms carry no CSRF token:
each acts only for whoever holds its unguessable token (the emailed link, the progress
page's address), which a forging site does not have; the signup form itself acts for nobody
(a forged submission does what a direct one could). Pages reached through a token send no
Referer onwards.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from drcrm.link_tokens import link_token_looks_valid
from drcrm.mail import clinic_url
from drcrm.validation import form_errors_add
from provisioning import signup as signups
from provisioning.forms import SignupForm, SubdomainForm, country_defaults
from provisioning.models import ClinicSignup
from provisioning.services import clinic_host
from provisioning.signup_selectors import (
    SignupLinkExpired,
    get_signup_for_progress_token,
    get_signup_for_verification_token,
    signup_progress,
    subdomain_availability,
)
from shared_apps.accounts.access import public_view
from shared_apps.accounts.signin import sign_in_complete

# The progress page polls its status this often, and reloads itself without JavaScript.
POLL_MILLISECONDS = 700
NO_SCRIPT_REFRESH_SECONDS = 2


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a signup page; every one of them may show the clinic's future address."""
    return render(
        request, template, {**context, "base_domain": settings.BASE_DOMAIN}, status=status
    )


def _no_referrer(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    return response


def _link_refused(request: HttpRequest, *, status: int, kind: str) -> HttpResponse:
    context = {"gone": status == 410, "kind": kind}
    return _no_referrer(_page(request, "provisioning/link_refused.html", context, status=status))


# --- the form -----------------------------------------------------------------------------


@public_view
@csrf_exempt
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            signups.signup_request(details=form.details())
        except ValidationError as exc:  # the address went to someone else meanwhile
            form_errors_add(form, exc)
        else:
            # The same page whether or not the address already has an account.
            context = {"email": form.cleaned_data["email"]}
            return _page(request, "provisioning/signup_sent.html", context)
    context = {"form": form, "country_defaults": country_defaults()}
    return _page(request, "provisioning/signup.html", context, status=400 if form.errors else 200)


@public_view
@never_cache
@require_GET
def check_subdomain(request: HttpRequest) -> JsonResponse:
    """{available, message} for the form's live check (the form checks again on submit)."""
    return JsonResponse(subdomain_availability(request.GET.get("subdomain", "").strip()))


# --- the emailed link ---------------------------------------------------------------------


@public_view
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (a mail scanner following the link changes nothing); POST acts."""
    try:
        signup = get_signup_for_verification_token(token)
    except Http404:
        return _link_refused(request, status=404, kind="verify")
    except SignupLinkExpired as expired:
        return _verify_expired(request, expired.signup)
    if signup.status != ClinicSignup.Status.PENDING:
        # Used already: back to the same progress page (or its end result).
        return _to_progress(signups.progress_token_for(token))
    if request.method == "POST":
        return _to_progress(signups.signup_verify(signup=signup, token=token))
    return _no_referrer(_page(request, "provisioning/verify_confirm.html", {"signup": signup}))


def _verify_expired(request: HttpRequest, signup: ClinicSignup) -> HttpResponse:
    """The link is too old: one click sends a new one for the same details."""
    form = SubdomainForm(
        request.POST if request.method == "POST" else None,
        initial={"subdomain": signup.subdomain},
        signup_id=signup.pk,
    )
    if request.method == "POST" and form.is_valid():
        try:
            signups.signup_renew(signup=signup, subdomain=form.cleaned_data["subdomain"])
        except ValidationError as exc:
            form_errors_add(form, exc)
        except signups.SignupNotRetryable:
            return _link_refused(request, status=410, kind="verify")
        else:
            context = {"email": signup.owner_email, "renewed": True}
            return _no_referrer(_page(request, "provisioning/signup_sent.html", context))
    status = 400 if form.errors else 410
    context = {"signup": signup, "form": form}
    return _no_referrer(_page(request, "provisioning/verify_expired.html", context, status=status))


def _to_progress(progress_token: str) -> HttpResponse:
    return _no_referrer(redirect("signup-progress", token=progress_token))


# --- progress -----------------------------------------------------------------------------


@public_view
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def progress(request: HttpRequest, token: str) -> HttpResponse:
    """Where the clinic's creation is; after a failure, a form to try another address."""
    try:
        signup = get_signup_for_progress_token(token)
    except Http404:
        return _link_refused(request, status=404, kind="progress")
    form = None
    if request.method == "POST":
        form = SubdomainForm(request.POST, signup_id=signup.pk)
        if signup.status != ClinicSignup.Status.FAILED:
            return _to_progress(token)  # a second click of "try again": already under way
        if form.is_valid():
            try:
                signups.signup_retry(signup=signup, subdomain=form.cleaned_data["subdomain"])
            except ValidationError as exc:
                form_errors_add(form, exc)
            except signups.SignupNotRetryable:
                return _to_progress(token)
            else:
                return _to_progress(token)
    state = signup_progress(signup)
    retryable = state.state == "failed" and signup.failure_reason != signups.ACCOUNT_UNUSABLE
    if retryable and form is None:
        form = SubdomainForm(initial={"subdomain": signup.subdomain}, signup_id=signup.pk)
    context: dict[str, Any] = {
        "signup": signup,
        "progress": state,
        "form": form if retryable else None,
        "token": token,
        "poll_ms": POLL_MILLISECONDS,
        "refresh_seconds": NO_SCRIPT_REFRESH_SECONDS,
        "clinic_host": clinic_host(signup.subdomain),
    }
    status = 400 if form is not None and form.errors else 200
    return _no_referrer(_page(request, "provisioning/progress.html", context, status=status))


@public_view
@never_cache
@require_GET
def progress_status(request: HttpRequest, token: str) -> JsonResponse:
    try:
        signup = get_signup_for_progress_token(token)
    except Http404:
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No such signup."}}, status=404
        )
    answer = signup_progress(signup).as_json()
    if answer["state"] == "completed":
        answer["continue_url"] = reverse("signup-continue", kwargs={"token": token})
    return JsonResponse(answer)


@public_view
@csrf_exempt
@never_cache
@require_POST
def continue_to_clinic(request: HttpRequest, token: str) -> HttpResponse:
    """Off to the new clinic: signed in by a one-time hand-off, or to its sign-in page.

    A POST (the page's script submits it), so a crawler that follows links cannot spend
    the owner's hand-off.
    """
    try:
        signup = get_signup_for_progress_token(token)
    except Http404:
        return _link_refused(request, status=404, kind="progress")
    if signup.status != ClinicSignup.Status.COMPLETED or signup.clinic is None:
        return _to_progress(token)
    handoff = signups.signup_handoff_issue(signup=signup)
    path = "/sign-in/" if handoff is None else f"/welcome/{handoff}/"
    return _no_referrer(redirect(clinic_url(signup.clinic, path)))


# --- on the new clinic's host -------------------------------------------------------------


@public_view
@never_cache
@require_GET
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """The hand-off: signs the new owner in on their clinic, once, within 2 minutes."""
    clinic = request.tenant  # type: ignore[attr-defined]
    if not link_token_looks_valid(token):
        return _link_refused(request, status=404, kind="welcome")
    try:
        user = signups.signup_handoff_redeem(clinic=clinic, token=token)
    except signups.HandoffRefused as refused:
        return _link_refused(request, status=410 if refused.gone else 404, kind="welcome")
    sign_in_complete(request, user, method="signup")
    messages.success(request, f"Welcome to {clinic.name}! Your clinic is ready.")
    return _no_referrer(redirect("dashboard"))
