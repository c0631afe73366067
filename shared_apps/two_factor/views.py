"""Two-factor pages: the second step of signing in, setting it up, and the profile page.

The password step (`accounts.views.sign_in`) parks the user as *pending* in the session;
these views finish the sign-in with `sign_in_complete` once a second factor is shown.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import segno
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from shared_apps.accounts.access import member_view, public_view
from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sign_in_locked_message, sign_in_locked_until
from shared_apps.accounts.services import sign_in_failure_record, sign_in_failures_clear
from shared_apps.accounts.signin import (
    PENDING_KEY,
    PENDING_SECONDS,
    pending_sign_in,
    pending_sign_in_cancel,
    pending_sign_in_start,
    safe_next,
    sign_in_complete,
)
from shared_apps.two_factor import totp
from shared_apps.two_factor.forms import PasswordConfirmForm, RecoveryCodeForm, TotpCodeForm
from shared_apps.two_factor.selectors import (
    SecondFactorStep,
    confirmed_device_of,
    recovery_codes_left,
    second_factor_step,
    secret_being_set_up,
    two_factor_status,
)
from shared_apps.two_factor.services import (
    recovery_code_use,
    recovery_codes_regenerate,
    totp_device_confirm,
    totp_device_remove,
    totp_device_start,
    totp_verify,
)

# Session keys. Neither holds a secret: only a fingerprint of the secret being set up,
# so a session row read by someone else reveals nothing to scan.
ENROL_KEY = "drcrm_two_factor_enrol"
REAUTH_KEY = "drcrm_two_factor_reauth"
# How long a password typed on the profile page allows finishing the set-up.
REAUTH_SECONDS = 10 * 60

WRONG_CODE = (
    "That code is not right. Type the newest code your app shows; each code works only once."
)
WRONG_RECOVERY_CODE = "That recovery code is not right, or it has been used already."
WRONG_SETUP_CODE = (
    "That code does not match. Check that you scanned the code on this page and that "
    "the time on your phone is set automatically."
)


# ---- shared pieces ---------------------------------------------------------------------


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def qr_svg(data: str) -> SafeString:
    """An inline SVG QR code of `data`: nothing to fetch, nothing stored, no JavaScript."""
    qr = segno.make(data, error="m", micro=False)
    # Safe: segno draws the data as path geometry; the only text is our fixed title.
    svg = qr.svg_inline(
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        omitsize=True,
        title="QR code for your authenticator app",
        svgclass="qr-code",
    )
    return mark_safe(svg)  # noqa: S308


def _setup_context(secret: str, user: User) -> dict[str, Any]:
    uri = totp.provisioning_uri(secret, user.email)
    return {"qr": qr_svg(uri), "secret_grouped": totp.grouped(secret), "otpauth_uri": uri}


def _codes_context(codes: list[str]) -> dict[str, Any]:
    # A data: link downloads the codes without them ever being stored or served again.
    download = "data:text/plain;charset=utf-8," + quote(
        "DR. CRM recovery codes\n" + "\n".join(codes)
    )
    return {"codes": codes, "codes_download": download}


def _wrong(form: forms.Form, field: str, message: str) -> None:
    """Mark a well-formed but wrong code, and empty the field for the next try."""
    form.add_error(field, message)
    form.data = {**form.data, field: ""}


def _clinic(request: HttpRequest) -> Any:
    return request.tenant  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SecondFactorPages:
    """One site's second sign-in step: a clinic's, or the operator console's.

    Both sites run the same two steps (`second_factor_verify_step`,
    `second_factor_enrol_step`) so their rules cannot drift apart; this says where each
    site's pages and templates are, which throttle counts the failures, and how it
    finishes a sign-in.
    """

    sign_in_url: str
    verify_url: str
    enrol_url: str
    verify_template: str
    enrol_template: str
    codes_template: str
    # The clinic whose sign-in lock counts failures (None: the public site's own lock).
    throttle_clinic_id: Callable[[HttpRequest], int | None]
    # Finish signing in (request, user, next_url, method, just_enrolled); returns where to
    # go next.
    complete: Callable[[HttpRequest, User, str, str, bool], HttpResponse]


def second_factor_verify_step(
    request: HttpRequest, pages: SecondFactorPages, user: User, next_url: str
) -> HttpResponse:
    """The code (or recovery code) form, for a pending user who has an authenticator."""
    clinic_id = pages.throttle_clinic_id(request)
    data = request.POST if request.method == "POST" else None
    use_recovery = (data if data is not None else request.GET).get("method") == "recovery"
    form: TotpCodeForm | RecoveryCodeForm = (
        RecoveryCodeForm(data) if use_recovery else TotpCodeForm(data)
    )
    if data is not None:
        locked_until = sign_in_locked_until(clinic_id=clinic_id, email=user.email)
        if locked_until is not None:
            return _locked_out(request, pages, locked_until)
        if form.is_valid():
            if _second_factor_valid(user, form):
                sign_in_failures_clear(clinic_id=clinic_id, email=user.email)
                method = "recovery_code" if use_recovery else "totp"
                return pages.complete(request, user, next_url, method, False)
            locked_until = sign_in_failure_record(clinic_id=clinic_id, email=user.email)
            if locked_until is not None:
                return _locked_out(request, pages, locked_until)
            if use_recovery:
                _wrong(form, "recovery_code", WRONG_RECOVERY_CODE)
            else:
                _wrong(form, "code", WRONG_CODE)
    context = {
        "form": form,
        "use_recovery": use_recovery,
        "pending_email": user.email,
        "pages": pages,
    }
    return render(request, pages.verify_template, context, status=400 if form.errors else 200)


def second_factor_enrol_step(
    request: HttpRequest, pages: SecondFactorPages, user: User, next_url: str
) -> HttpResponse:
    """Setting up an authenticator while signing in (the site requires one)."""
    state = request.session.get(ENROL_KEY) or {}
    if state.get("user_id") != user.pk:
        state = {}
    if request.method == "POST" and request.POST.get("action") == "continue":
        return _enrol_finish(request, pages, user, next_url, state)
    if confirmed_device_of(user) is not None:
        # Set up already (another tab, or the codes page was left): prove it as usual.
        # The recovery codes are never shown again.
        request.session.pop(ENROL_KEY, None)
        return redirect(pages.verify_url)

    secret = secret_being_set_up(user=user)
    if secret is None or state.get("fingerprint") != _fingerprint(secret):
        # Only a secret this browser was shown is reused: reloading the page, or signing
        # in again after the pending step timed out, keeps the code already scanned.
        secret = totp_device_start(user=user)
        request.session[ENROL_KEY] = {"user_id": user.pk, "fingerprint": _fingerprint(secret)}

    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        codes = totp_device_confirm(user=user, code=form.cleaned_data["code"])
        if codes is not None:
            request.session[ENROL_KEY] = {"user_id": user.pk, "confirmed_at": time.time()}
            # A fresh pending clock to copy the codes down, and a new session key.
            pending_sign_in_start(request, user, next_url=next_url)
            return render(request, pages.codes_template, {**_codes_context(codes), "pages": pages})
        _wrong(form, "code", WRONG_SETUP_CODE)
    context = {"form": form, "pages": pages, **_setup_context(secret, user)}
    return render(request, pages.enrol_template, context, status=400 if form.errors else 200)


def _enrol_finish(
    request: HttpRequest,
    pages: SecondFactorPages,
    user: User,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    """ "I saved them, continue": the second factor was shown a moment ago, at confirmation."""
    confirmed_at = state.get("confirmed_at")
    fresh = isinstance(confirmed_at, float) and time.time() - confirmed_at <= PENDING_SECONDS
    request.session.pop(ENROL_KEY, None)
    if not fresh or confirmed_device_of(user) is None:
        return redirect(pages.enrol_url)  # which sends to the code page if set up
    return pages.complete(request, user, next_url, "totp", True)


def _locked_out(request: HttpRequest, pages: SecondFactorPages, until: datetime) -> HttpResponse:
    # Locked: the pending sign-in is dropped, so the password must be typed again after
    # the pause, and the lock holds on the password form too.
    pending_sign_in_cancel(request)
    request.session.pop(ENROL_KEY, None)
    messages.error(request, sign_in_locked_message(until))
    return redirect(pages.sign_in_url)


def _second_factor_valid(user: User, form: TotpCodeForm | RecoveryCodeForm) -> bool:
    if isinstance(form, RecoveryCodeForm):
        return recovery_code_use(user=user, code=form.cleaned_data["recovery_code"])
    return totp_verify(user=user, code=form.cleaned_data["code"])


# ---- the second step of signing in ------------------------------------------------------


def _pending(request: HttpRequest) -> tuple[User, str] | None:
    had_pending = PENDING_KEY in request.session
    pending = pending_sign_in(request)
    if pending is None and had_pending:
        messages.info(
            request, "Your sign-in timed out. Please enter your email and password again."
        )
    return pending


def _clinic_sign_in_complete(
    request: HttpRequest, user: User, next_url: str, method: str, just_enrolled: bool
) -> HttpResponse:
    sign_in_complete(request, user, method=method)
    if method == "recovery_code":
        left = recovery_codes_left(user=user)
        messages.warning(
            request,
            f"You signed in with a recovery code; {left} left. If you lost your phone, "
            "move two-factor sign-in to a new one on your profile.",
        )
    if just_enrolled:
        messages.success(request, "Two-factor sign-in is on.")
    return redirect(safe_next(request, next_url))


CLINIC_PAGES = SecondFactorPages(
    sign_in_url="sign-in",
    verify_url="two-factor-verify",
    enrol_url="two-factor-enrol",
    verify_template="two_factor/verify.html",
    enrol_template="two_factor/enrol.html",
    codes_template="two_factor/enrol_codes.html",
    throttle_clinic_id=lambda request: _clinic(request).pk,
    complete=_clinic_sign_in_complete,
)


@public_view
@sensitive_post_parameters("code", "recovery_code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return redirect("sign-in")
    user, next_url = pending
    clinic = _clinic(request)
    step = second_factor_step(user=user, require_two_factor=clinic.require_two_factor)
    if step == SecondFactorStep.ENROL:
        return redirect("two-factor-enrol")
    if step == SecondFactorStep.NONE:
        # Two-factor was turned off meanwhile: let the password step decide afresh.
        pending_sign_in_cancel(request)
        messages.info(request, "Please sign in again.")
        return redirect("sign-in")
    return second_factor_verify_step(request, CLINIC_PAGES, user, next_url)


# ---- setting up two-factor while signing in (clinic requires it) ------------------------


@public_view
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    pending = _pending(request)
    if pending is None:
        return redirect("sign-in")
    user, next_url = pending
    return second_factor_enrol_step(request, CLINIC_PAGES, user, next_url)


# ---- the profile page ------------------------------------------------------------------


PASSWORD_ACTIONS = ("start", "regenerate", "disable")


def _password_form(request: HttpRequest, action: str, *, bind: bool = False) -> PasswordConfirmForm:
    # One password field per action on the same page: distinct ids, the same field name.
    return PasswordConfirmForm(
        request.POST if bind else None,
        user=request.user,  # type: ignore[arg-type]
        auto_id=f"id_{action}_%s",
    )


def _profile_page(
    request: HttpRequest,
    *,
    bound: tuple[str, PasswordConfirmForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    password_forms = {action: _password_form(request, action) for action in PASSWORD_ACTIONS}
    if bound is not None:
        password_forms[bound[0]] = bound[1]
    context = {
        "status": two_factor_status(user=user),
        "forms": password_forms,
    }
    return render(request, "two_factor/profile.html", context, status=status)


def _reauthenticated(request: HttpRequest, form: PasswordConfirmForm) -> bool:
    """Check the password typed to confirm a change; wrong ones count towards the lock,
    so a stolen session cannot be used to guess the password here without limit."""
    clinic_id, email = _clinic(request).pk, request.user.email  # type: ignore[union-attr]
    locked_until = sign_in_locked_until(clinic_id=clinic_id, email=email)
    if locked_until is not None:
        form.is_valid()
        form.errors.clear()
        form.add_error(None, sign_in_locked_message(locked_until))
        return False
    if form.is_valid():
        sign_in_failures_clear(clinic_id=clinic_id, email=email)
        return True
    if form.has_error("password", "wrong_password"):
        sign_in_failure_record(clinic_id=clinic_id, email=email)
    return False


def _profile_start(request: HttpRequest) -> HttpResponse:
    form = _password_form(request, "start", bind=True)
    if not _reauthenticated(request, form):
        return _profile_page(request, bound=("start", form), status=400)
    user: User = request.user  # type: ignore[assignment]
    secret = totp_device_start(user=user)
    request.session[REAUTH_KEY] = {
        "user_id": user.pk,
        "at": time.time(),
        "fingerprint": _fingerprint(secret),
    }
    return _profile_setup_page(request, secret, TotpCodeForm())


def _profile_setup_page(
    request: HttpRequest, secret: str, form: TotpCodeForm, *, status: int = 200
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "form": form,
        "replacing": confirmed_device_of(user) is not None,
        **_setup_context(secret, user),
    }
    return render(request, "two_factor/profile_setup.html", context, status=status)


def _profile_confirm(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    state = request.session.get(REAUTH_KEY) or {}
    secret = secret_being_set_up(user=user)
    fresh = (
        state.get("user_id") == user.pk
        and time.time() - float(state.get("at", 0)) <= REAUTH_SECONDS
        and secret is not None
        and state.get("fingerprint") == _fingerprint(secret)
    )
    if not fresh or secret is None:
        request.session.pop(REAUTH_KEY, None)
        messages.error(request, "That took too long. Please confirm your password and start again.")
        return redirect("two-factor")
    form = TotpCodeForm(request.POST)
    if form.is_valid():
        codes = totp_device_confirm(user=user, code=form.cleaned_data["code"])
        if codes is not None:
            request.session.pop(REAUTH_KEY, None)
            return _codes_page(request, codes, title="Two-factor sign-in is on")
        _wrong(form, "code", WRONG_SETUP_CODE)
    return _profile_setup_page(request, secret, form, status=400)


def _codes_page(request: HttpRequest, codes: list[str], *, title: str) -> HttpResponse:
    # Rendered in the response to the POST that made them and never stored in clear:
    # leaving (or reloading) this page loses them for good.
    context = {"title": title, **_codes_context(codes)}
    return render(request, "two_factor/profile_codes.html", context)


def _profile_regenerate(request: HttpRequest) -> HttpResponse:
    form = _password_form(request, "regenerate", bind=True)
    if not _reauthenticated(request, form):
        return _profile_page(request, bound=("regenerate", form), status=400)
    try:
        codes = recovery_codes_regenerate(user=request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        form.add_error(None, error)
        return _profile_page(request, bound=("regenerate", form), status=400)
    return _codes_page(request, codes, title="New recovery codes")


def _profile_disable(request: HttpRequest) -> HttpResponse:
    form = _password_form(request, "disable", bind=True)
    if not _reauthenticated(request, form):
        return _profile_page(request, bound=("disable", form), status=400)
    try:
        totp_device_remove(user=request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        form.add_error(None, error)
        return _profile_page(request, bound=("disable", form), status=400)
    messages.success(request, "Two-factor sign-in is off.")
    return redirect("two-factor")


_PROFILE_ACTIONS = {
    "start": _profile_start,
    "confirm": _profile_confirm,
    "regenerate": _profile_regenerate,
    "disable": _profile_disable,
}


@member_view
@sensitive_post_parameters("password", "code")
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        handler = _PROFILE_ACTIONS.get(request.POST.get("action", ""))
        if handler is None:
            messages.error(request, "That action is not available here.")
            return _profile_page(request, status=400)
        return handler(request)
    return _profile_page(request)
