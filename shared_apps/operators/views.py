"""The operator console on the public site: signing in (password, then a required second
factor), the clinic fleet, creating/suspending/resuming clinics, and operator API tokens.

Operators never see patient data: every page reads the registry, the operator trail and
counts (provisioning.selectors), never a clinic's records.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from drcrm.validation import form_errors_add
from provisioning.selectors import clinic_usage_get, clinics_with_usage
from provisioning.services import clinic_create, clinic_host, clinic_resume, clinic_suspend
from shared_apps.accounts.access import public_view
from shared_apps.accounts.middleware import operator_session_valid
from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sign_in_locked_message, sign_in_locked_until
from shared_apps.accounts.services import (
    sign_in_failure_record,
    sign_in_failures_clear,
    sign_out_record,
)
from shared_apps.accounts.signin import (
    PENDING_KEY,
    pending_sign_in,
    pending_sign_in_cancel,
    pending_sign_in_start,
    sign_in_complete,
)
from shared_apps.clinics.models import Clinic
from shared_apps.operators import selectors
from shared_apps.operators.access import operator_view
from shared_apps.operators.forms import (
    ClinicCreateForm,
    ClinicSearchForm,
    OperatorSignInForm,
    StatusChangeForm,
    TokenCreateForm,
)
from shared_apps.operators.services import operator_token_create, operator_token_revoke
from shared_apps.two_factor.selectors import (
    confirmed_device_of,
    recovery_codes_left,
)

# The clinic site's second sign-in step, run with the console's pages and lock, so the two
# sign-ins cannot drift apart.
from shared_apps.two_factor.views import (
    SecondFactorPages,
    second_factor_enrol_step,
    second_factor_verify_step,
)

# One answer for a wrong password, an unknown address and an account that is no operator.
WRONG_SIGN_IN = "That email and password do not match an operator account."
PAGE_SIZE = 25
STATUS_BADGES = {
    Clinic.Status.ACTIVE: "op-badge-ok",
    Clinic.Status.SUSPENDED: "op-badge-stop",
    Clinic.Status.PROVISIONING: "op-badge-wait",
    Clinic.Status.MAINTENANCE: "op-badge-wait",
}


# ---- signing in ---------------------------------------------------------------------------


def _console_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after signing in: a console path on this host, else the clinic list."""
    if (
        candidate
        and candidate.startswith("/operator/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return reverse("operator-clinics")


def _cross_origin(request: HttpRequest) -> bool:
    """A browser POST from another site. The password step has no CSRF token (a token
    would need a session, hence a cookie, for every anonymous visitor); the second step
    has one, so a forged password step alone can never open a session."""
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    # As Django's own origin check: this host as seen, or an exactly trusted origin (a
    # TLS-terminating proxy can make the scheme seen here differ from the browser's).
    trusted = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    return origin not in trusted


def _operator_authenticate(request: HttpRequest, email: str, password: str) -> User | None:
    # ModelBackend hashes even for unknown addresses: no timing oracle for who exists.
    user = ModelBackend().authenticate(request, username=email, password=password)
    if not isinstance(user, User) or not user.is_operator:
        return None
    return user


@public_view
@csrf_exempt
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def operator_sign_in(request: HttpRequest) -> HttpResponse:
    next_url = _console_next(request, request.POST.get("next") or request.GET.get("next"))
    if operator_session_valid(request):
        return redirect(next_url)
    if request.method == "POST" and _cross_origin(request):
        raise PermissionDenied("Sign in from the operator sign-in page.")
    form = OperatorSignInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = str(form.cleaned_data["email"]).strip().lower()
        locked_until = sign_in_locked_until(clinic_id=None, email=email)
        if locked_until is not None:
            # Locked: the password is not even checked, so guessing on gains nothing.
            form.add_error(None, sign_in_locked_message(locked_until))
        else:
            user = _operator_authenticate(request, email, form.cleaned_data["password"])
            if user is not None:
                sign_in_failures_clear(clinic_id=None, email=email)
                pending_sign_in_start(request, user, next_url=next_url)
                if confirmed_device_of(user) is None:
                    return redirect("operator-two-factor-enrol")
                return redirect("operator-two-factor-verify")
            locked_until = sign_in_failure_record(clinic_id=None, email=email)
            form.add_error(
                None,
                WRONG_SIGN_IN if locked_until is None else sign_in_locked_message(locked_until),
            )
    context = {"form": form, "next": next_url}
    status = 400 if form.errors else 200
    return render(request, "operators/sign_in.html", context, status=status)


def _pending_operator(request: HttpRequest) -> tuple[User, str] | None:
    """The operator waiting for their second factor (still an operator), if any."""
    had_pending = PENDING_KEY in request.session
    pending = pending_sign_in(request)
    if pending is not None and not pending[0].is_operator:
        pending_sign_in_cancel(request)
        pending = None
    if pending is None and had_pending:
        messages.info(request, "Your sign-in timed out. Enter your email and password again.")
    return pending


def _operator_sign_in_complete(
    request: HttpRequest, user: User, next_url: str, method: str, just_enrolled: bool
) -> HttpResponse:
    if just_enrolled:  # the verify step clears failures; set-up clears them here
        sign_in_failures_clear(clinic_id=None, email=user.email)
    sign_in_complete(request, user, method=method)
    if method == "recovery_code":
        left = recovery_codes_left(user=user)
        messages.warning(request, f"You signed in with a recovery code; {left} left.")
    return redirect(_console_next(request, next_url))


OPERATOR_PAGES = SecondFactorPages(
    sign_in_url="operator-sign-in",
    verify_url="operator-two-factor-verify",
    enrol_url="operator-two-factor-enrol",
    verify_template="operators/two_factor_verify.html",
    enrol_template="operators/two_factor_enrol.html",
    codes_template="operators/two_factor_codes.html",
    throttle_clinic_id=lambda _request: None,  # the public site's own lock
    complete=_operator_sign_in_complete,
)


@public_view
@sensitive_post_parameters("code", "recovery_code")
@never_cache
@require_http_methods(["GET", "POST"])
def operator_two_factor_verify(request: HttpRequest) -> HttpResponse:
    pending = _pending_operator(request)
    if pending is None:
        return redirect("operator-sign-in")
    user, next_url = pending
    if confirmed_device_of(user) is None:
        return redirect("operator-two-factor-enrol")
    return second_factor_verify_step(request, OPERATOR_PAGES, user, next_url)


@public_view
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def operator_two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Operators must have a second factor: one without is set up before anything else."""
    pending = _pending_operator(request)
    if pending is None:
        return redirect("operator-sign-in")
    user, next_url = pending
    return second_factor_enrol_step(request, OPERATOR_PAGES, user, next_url)


@operator_view
@require_POST
def operator_sign_out(request: HttpRequest) -> HttpResponse:
    sign_out_record(user=request.user, reason="sign_out")  # type: ignore[arg-type]
    logout(request)  # deletes the session row: the old cookie is worthless from now on
    return redirect("operator-sign-in")


# ---- the clinic fleet ---------------------------------------------------------------------


def _badge(clinic: Clinic) -> str:
    return STATUS_BADGES.get(Clinic.Status(clinic.status), "op-badge-wait")


@operator_view
@never_cache
@require_http_methods(["GET"])
def clinic_list(request: HttpRequest) -> HttpResponse:
    form = ClinicSearchForm(request.GET)
    search, status, page = form.values()
    rows, total = clinics_with_usage(
        search=search, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    context = {
        "form": form,
        "rows": [{"usage": usage, "badge": _badge(usage.clinic)} for usage in rows],
        "total": total,
        "page": page,
        "pages": pages,
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if page < pages else None,
        "search": search,
        "status": status,
    }
    return render(request, "operators/clinic_list.html", context)


@operator_view
@never_cache
@require_http_methods(["GET"])
def clinic_detail(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = selectors.clinic_get_for_operator(clinic_id=clinic_id)
    return _clinic_page(request, clinic)


def _clinic_page(request: HttpRequest, clinic: Clinic) -> HttpResponse:
    context = {
        "usage": clinic_usage_get(clinic=clinic),
        "clinic_row": clinic,
        "badge": _badge(clinic),
        "events": selectors.clinic_events(clinic=clinic),
        "domains": selectors.clinic_domains(clinic=clinic),
        "pending_owner_invites": selectors.clinic_pending_owner_invites(clinic=clinic),
        "host": clinic_host(clinic.subdomain),
    }
    return render(request, "operators/clinic_detail.html", context)


@operator_view
@never_cache
@require_http_methods(["GET", "POST"])
def clinic_new(request: HttpRequest) -> HttpResponse:
    form = ClinicCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            clinic = clinic_create(
                actor=request.user,  # type: ignore[arg-type]
                name=data["name"],
                subdomain=data["subdomain"],
                clinic_type=data["clinic_type"],
                owner_email=data["owner_email"],
                time_zone=data["time_zone"],
                currency=data["currency"],
                country=data["country"],
                plan=data["plan"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"{clinic.name} is ready. The owner's invite is on its way.")
            return redirect("operator-clinic", clinic_id=clinic.pk)
    status = 400 if form.errors else 200
    return render(request, "operators/clinic_new.html", {"form": form}, status=status)


def _status_change_page(request: HttpRequest, clinic_id: int, *, suspend: bool) -> HttpResponse:
    """GET: the confirmation step with the reason; POST: the change itself."""
    clinic = selectors.clinic_get_for_operator(clinic_id=clinic_id)
    data = request.POST if request.method == "POST" else None
    form = StatusChangeForm(data, required=suspend)
    if data is not None and form.is_valid():
        change = clinic_suspend if suspend else clinic_resume
        try:
            clinic = change(
                actor=request.user,  # type: ignore[arg-type]
                clinic=clinic,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            done = "suspended: its pages now refuse everyone" if suspend else "open again"
            messages.success(request, f"{clinic.name} is {done}.")
            return redirect("operator-clinic", clinic_id=clinic.pk)
    context = {"clinic_row": clinic, "form": form, "suspend": suspend, "badge": _badge(clinic)}
    status = 400 if form.errors else 200
    return render(request, "operators/clinic_status.html", context, status=status)


@operator_view
@never_cache
@require_http_methods(["GET", "POST"])
def clinic_suspend_view(request: HttpRequest, clinic_id: int) -> HttpResponse:
    return _status_change_page(request, clinic_id, suspend=True)


@operator_view
@never_cache
@require_http_methods(["GET", "POST"])
def clinic_resume_view(request: HttpRequest, clinic_id: int) -> HttpResponse:
    return _status_change_page(request, clinic_id, suspend=False)


# ---- the operator's own API tokens --------------------------------------------------------


@operator_view
@never_cache
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = TokenCreateForm(request.POST if request.method == "POST" else None)
    new_token: dict[str, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created, plain = operator_token_create(actor=user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            form = TokenCreateForm()
            new_token = {"name": created.name, "value": plain}
    context = {
        "form": form,
        "tokens": selectors.operator_tokens_of(user=user),
        # Rendered in the response to the POST that made it, never stored in clear.
        "new_token": new_token,
    }
    status = 400 if form.errors else 200
    return render(request, "operators/tokens.html", context, status=status)


@operator_view
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    token = selectors.operator_token_get_for(user=user, token_id=token_id)
    operator_token_revoke(actor=user, token=token)
    messages.success(request, f"The token {token.name} is revoked.")
    return redirect("operator-tokens")
