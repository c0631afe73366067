"""A person's own account (profile, email, password, sessions) and the ways back in.

Links in emails carry a token only the recipient has; pages reached through them answer
404 for a link that is unknown here (a typo, or another clinic's) and 410 for a spent or
expired one, and send no Referer onwards, so the token never reaches another site.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shared_apps.accounts.access import member_view, public_view
from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import sign_in_locked_until
from shared_apps.accounts.services import sign_in_failure_record
from shared_apps.profile import selectors, services
from shared_apps.profile.forms import (
    EmailChangeForm,
    EmailForm,
    NameForm,
    NewPasswordForm,
    PasswordChangeForm,
    ReauthenticationMixin,
)

# The reset a visitor opened from their email, once its token has left the address bar...
RESET_SESSION_KEY = "drcrm_password_reset_id"
# ...and the address the form then lives at: never a token (those are 43 characters).
FORM_SLUG = "new-password"
EMAIL_TAKEN = "Another account already uses this address."


def _no_referrer(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    return response


def _link_refused(request: HttpRequest, *, status: int, kind: str) -> HttpResponse:
    """The friendly answer to a link that is unknown here (404) or spent/expired (410)."""
    context = {"gone": status == 410, "kind": kind}
    return _no_referrer(render(request, "profile/link_refused.html", context, status=status))


# --- find my clinic (public site) ---------------------------------------------------------


# No CSRF token: the form acts for nobody (no account, no session), so a forged submission
# can do nothing a direct one could not. Without a token the public site needs no session,
# so visitors of this page get no cookie either.
@public_view
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def find_my_clinic(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.clinic_list_email_send(email=form.cleaned_data["email"])
        # The same page whether or not the address is ours: no oracle for who works where.
        return render(request, "profile/find_my_clinic_sent.html")
    status = 400 if form.errors else 200
    return render(request, "profile/find_my_clinic.html", {"form": form}, status=status)


# --- password reset -----------------------------------------------------------------------


@public_view
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        actor = request.user if isinstance(request.user, User) else None
        services.password_reset_request(
            actor=actor,
            clinic=request.tenant,  # type: ignore[attr-defined]
            email=form.cleaned_data["email"],
        )
        # Identical for a member, a stranger and an unknown address.
        return render(request, "profile/password_reset_sent.html")
    status = 400 if form.errors else 200
    return render(request, "profile/password_reset.html", {"form": form}, status=status)


@public_view
@sensitive_post_parameters("new_password", "new_password_confirm")
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link, then (under a token-less address) the new-password form."""
    if token == FORM_SLUG:
        return _password_reset_form(request)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _password_reset_open(request, token)


def _password_reset_open(request: HttpRequest, token: str) -> HttpResponse:
    # Opening the link changes nothing (a mail scanner that follows it only learns a
    # redirect). As in Django's own view, the token leaves the address bar, and with it
    # every later Referer and history entry; the session remembers which reset it was.
    clinic_id = request.tenant.pk  # type: ignore[attr-defined]
    try:
        reset = selectors.get_password_reset_for_token(clinic_id=clinic_id, token=token)
    except Http404:
        return _link_refused(request, status=404, kind="reset")
    except selectors.LinkUnusable:
        return _link_refused(request, status=410, kind="reset")
    request.session[RESET_SESSION_KEY] = reset.pk
    return _no_referrer(redirect("password-reset-confirm", token=FORM_SLUG))


def _password_reset_form(request: HttpRequest) -> HttpResponse:
    clinic_id = request.tenant.pk  # type: ignore[attr-defined]
    reset_id = request.session.get(RESET_SESSION_KEY)
    try:
        if not isinstance(reset_id, int):
            raise Http404("No reset link was opened in this browser.")
        reset = selectors.get_password_reset_for(clinic_id=clinic_id, reset_id=reset_id)
    except Http404:
        return _link_refused(request, status=404, kind="reset")
    except selectors.LinkUnusable:
        request.session.pop(RESET_SESSION_KEY, None)
        return _link_refused(request, status=410, kind="reset")
    form = NewPasswordForm(request.POST if request.method == "POST" else None, user=reset.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_complete(
                reset=reset, new_password=form.cleaned_data["new_password"]
            )
        except selectors.LinkUnusable:  # used in another tab a moment ago
            return _link_refused(request, status=410, kind="reset")
        # Every session of the person here has just ended, maybe this very one: start a
        # fresh session rather than save into a row that is gone. Not signed in on purpose:
        # a reset proves the mailbox, not the second factor; sign-in asks for both.
        request.session.flush()
        messages.success(request, "Your password has been changed. Sign in with your new password.")
        return redirect("sign-in")
    context = {"form": form, "account_email": reset.user.email}
    status = 400 if form.errors else 200
    return _no_referrer(render(request, "profile/password_reset_set.html", context, status=status))


# --- profile ------------------------------------------------------------------------------


def _profile_page(
    request: HttpRequest, *, bound: forms.Form | None = None, status: int = 200
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {
        "name_form": NameForm(prefix="name", initial={"full_name": user.full_name}),
        "email_form": EmailChangeForm(prefix="email", user=user),
        "password_form": PasswordChangeForm(prefix="password", user=user),
        "pending_email_change": selectors.pending_email_change_of(
            clinic_id=request.tenant.pk,  # type: ignore[attr-defined]
            user_id=user.pk,
        ),
    }
    if bound is not None:
        context[f"{bound.prefix}_form"] = bound
    return render(request, "profile/profile.html", context, status=status)


def _reauthentication_failures_count(request: HttpRequest, form: ReauthenticationMixin) -> None:
    # A wrong current password is a failed sign-in in disguise: it counts towards the
    # same lock, so a borrowed session cannot be used to guess the password.
    if form.password_failed:
        sign_in_failure_record(clinic_id=request.tenant.pk, email=form.user.email)  # type: ignore[attr-defined]


def _name_post(request: HttpRequest, user: User) -> HttpResponse | forms.Form:
    form = NameForm(request.POST, prefix="name")
    if not form.is_valid():
        return form
    services.profile_update(actor=user, full_name=form.cleaned_data["full_name"])
    messages.success(request, "Your name has been saved.")
    return redirect("profile")


def _email_post(request: HttpRequest, user: User) -> HttpResponse | forms.Form:
    locked_until = sign_in_locked_until(clinic_id=request.tenant.pk, email=user.email)  # type: ignore[attr-defined]
    form = EmailChangeForm(request.POST, prefix="email", user=user, locked_until=locked_until)
    if not form.is_valid():
        _reauthentication_failures_count(request, form)
        return form
    new_email = form.cleaned_data["new_email"]
    try:
        services.email_change_request(actor=user, clinic=request.tenant, new_email=new_email)  # type: ignore[attr-defined]
    except services.EmailTaken:
        form.add_error("new_email", EMAIL_TAKEN)
        return form
    messages.success(
        request,
        f"We sent a confirmation link to {new_email}. Your address changes when you open it.",
    )
    return redirect("profile")


def _password_post(request: HttpRequest, user: User) -> HttpResponse | forms.Form:
    locked_until = sign_in_locked_until(clinic_id=request.tenant.pk, email=user.email)  # type: ignore[attr-defined]
    form = PasswordChangeForm(request.POST, prefix="password", user=user, locked_until=locked_until)
    if not form.is_valid():
        _reauthentication_failures_count(request, form)
        return form
    services.password_change(
        clinic=request.tenant,  # type: ignore[attr-defined]
        actor=user,
        new_password=form.cleaned_data["new_password"],
        keep_session_key=request.session.session_key,
    )
    # This session stays signed in under the new password (with a new key).
    update_session_auth_hash(request, user)
    messages.success(
        request, "Your password has been changed. Your other sessions have been signed out."
    )
    return redirect("profile")


_PROFILE_POSTS = {"name": _name_post, "email": _email_post, "password": _password_post}


@member_view
@sensitive_post_parameters(
    "email-current_password",
    "password-current_password",
    "password-new_password",
    "password-new_password_confirm",
)
@never_cache
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _profile_page(request)
    handle = _PROFILE_POSTS.get(request.POST.get("action", ""))
    if handle is None:
        return _profile_page(request, status=400)
    outcome = handle(request, request.user)  # type: ignore[arg-type]
    if isinstance(outcome, HttpResponse):
        return outcome
    return _profile_page(request, bound=outcome, status=400)


# Only the signed-in owner of the account may confirm, on the clinic where they asked: the
# link alone (forwarded, prefetched by a mail scanner, read over a shoulder) changes nothing.
# Opening it signed out leads through sign-in (and its second factor) and back here.
@member_view
@never_cache
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        change = selectors.get_email_change_for_token(
            clinic_id=request.tenant.pk,  # type: ignore[attr-defined]
            user_id=user.pk,
            token=token,
        )
    except Http404:
        return _link_refused(request, status=404, kind="email")
    except selectors.LinkUnusable:
        return _link_refused(request, status=410, kind="email")
    error = ""
    if request.method == "POST":
        try:
            services.email_change_confirm(actor=user, change=change)
        except selectors.LinkUnusable:
            return _link_refused(request, status=410, kind="email")
        except services.EmailTaken:
            error = "Another account now uses this address, so yours was not changed."
        else:
            messages.success(request, f"Your email address is now {user.email}.")
            return _no_referrer(redirect("profile"))
    context = {"change": change, "error": error}
    status = 400 if error else 200
    return _no_referrer(
        render(request, "profile/email_change_confirm.html", context, status=status)
    )


# --- sessions -----------------------------------------------------------------------------


@member_view
@never_cache
@require_GET
def sessions(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    rows = selectors.session_rows_of(
        user_id=user.pk, current_session_key=request.session.session_key
    )
    return render(request, "profile/sessions.html", {"sessions": rows})


@member_view
@require_POST
def session_end(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    session = selectors.get_session_of_user_for(
        user=user, public_id=request.POST.get("session", "")
    )
    services.session_end(actor=user, session=session)
    if session.session_key == request.session.session_key:
        logout(request)  # ending the session in use is signing out
        messages.info(request, "You have signed out.")
        return redirect("sign-in")
    messages.success(request, "That session has been signed out.")
    return redirect("profile-sessions")


@member_view
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    if not current:  # a signed-in request always has one; never end them all by accident
        raise Http404("No session.")
    ended = services.sessions_end_others(actor=request.user, keep_session_key=current)  # type: ignore[arg-type]
    noun = "session" if ended == 1 else "sessions"
    messages.success(request, f"Signed out everywhere else ({ended} {noun}).")
    return redirect("profile-sessions")
