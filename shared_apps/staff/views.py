"""The staff page (members, pending invites, the invite form) and the invite link's page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shared_apps.accounts.access import capability_view, public_view
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.roles import Capability
from shared_apps.accounts.selectors import sign_in_locked_message, sign_in_locked_until
from shared_apps.accounts.services import sign_in_failure_record, sign_out_record
from shared_apps.accounts.signin import sign_in_complete
from shared_apps.staff.errors import InviteNotUsable, StaffChangeRefused, WrongAccountPassword
from shared_apps.staff.forms import (
    AcceptExistingAccountForm,
    AcceptNewAccountForm,
    InviteForm,
    MemberRoleForm,
    grantable_roles,
    role_summaries,
)
from shared_apps.staff.models import Invite
from shared_apps.staff.selectors import (
    account_for_email,
    get_invite_for,
    get_membership_for,
    invite_for_token,
    invites_pending,
    last_sign_ins,
    members_of,
)
from shared_apps.staff.services import (
    invite_accept,
    invite_create,
    invite_resend,
    invite_revoke,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
)
from shared_apps.two_factor.selectors import SecondFactorStep, second_factor_step

AcceptForm = AcceptNewAccountForm | AcceptExistingAccountForm

# --- the staff page ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    last_sign_in_at: datetime | None
    is_you: bool
    may_change: bool  # role and active state: not oneself, and owners only by owners
    error: str = ""


@dataclass(frozen=True)
class InviteRow:
    invite: Invite
    may_change: bool
    error: str = ""


def _actor(request: HttpRequest) -> tuple[User, Membership]:
    return request.user, request.membership  # type: ignore[attr-defined,return-value]


def _staff_page(
    request: HttpRequest,
    *,
    invite_form: InviteForm | None = None,
    member_errors: dict[int, str] | None = None,
    invite_errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    clinic = request.tenant  # type: ignore[attr-defined]
    user, membership = _actor(request)
    is_owner = membership.role == Role.OWNER
    members = list(members_of(clinic=clinic))
    signed_in = last_sign_ins(user_ids=[m.user_id for m in members])
    member_errors, invite_errors = member_errors or {}, invite_errors or {}
    context: dict[str, Any] = {
        "members": [
            MemberRow(
                membership=m,
                last_sign_in_at=signed_in.get(m.user_id),
                is_you=m.user_id == user.pk,
                may_change=m.user_id != user.pk and (is_owner or m.role != Role.OWNER),
                error=member_errors.get(m.pk, ""),
            )
            for m in members
        ],
        "invites": [
            InviteRow(
                invite=i,
                may_change=is_owner or i.role != Role.OWNER,
                error=invite_errors.get(i.pk, ""),
            )
            for i in invites_pending(clinic=clinic)
        ],
        "invite_form": invite_form or InviteForm(actor_role=membership.role),
        "role_choices": grantable_roles(membership.role),
        "role_summaries": role_summaries(),
        "errors": [*member_errors.values(), *invite_errors.values()],
    }
    return render(request, "staff/staff.html", context, status=status)


def _refusal_status(refusal: StaffChangeRefused) -> int:
    return 403 if refusal.forbidden else 400


@capability_view(Capability.STAFF_MANAGE)
@require_GET
def staff(request: HttpRequest) -> HttpResponse:
    return _staff_page(request)


@capability_view(Capability.STAFF_MANAGE)
@require_POST
def staff_invite_create(request: HttpRequest) -> HttpResponse:
    user, membership = _actor(request)
    form = InviteForm(request.POST, actor_role=membership.role)
    if form.is_valid():
        try:
            invite = invite_create(
                actor=user,
                clinic=request.tenant,  # type: ignore[attr-defined]
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except StaffChangeRefused as refusal:
            form.add_error(
                refusal.field if refusal.field in form.fields else None, refusal.messages
            )
            return _staff_page(request, invite_form=form, status=_refusal_status(refusal))
        verb = "sent" if invite.sent_count == 1 else "sent again (the earlier link no longer works)"
        messages.success(request, f"Invitation {verb} to {invite.email}.")
        return redirect("staff")
    return _staff_page(request, invite_form=form, status=400)


def _invite_action(request: HttpRequest, invite_id: int, action: Any, done: str) -> HttpResponse:
    invite = get_invite_for(clinic=request.tenant, invite_id=invite_id)  # type: ignore[attr-defined]
    try:
        action(actor=request.user, invite=invite)
    except StaffChangeRefused as refusal:
        errors = {invite.pk: refusal.message}
        return _staff_page(request, invite_errors=errors, status=_refusal_status(refusal))
    messages.success(request, done.format(email=invite.email))
    return redirect("staff")


@capability_view(Capability.STAFF_MANAGE)
@require_POST
def staff_invite_resend(request: HttpRequest, invite_id: int) -> HttpResponse:
    return _invite_action(
        request,
        invite_id,
        invite_resend,
        "Invitation sent again to {email}: the earlier link no longer works.",
    )


@capability_view(Capability.STAFF_MANAGE)
@require_POST
def staff_invite_revoke(request: HttpRequest, invite_id: int) -> HttpResponse:
    return _invite_action(
        request,
        invite_id,
        invite_revoke,
        "Invitation to {email} withdrawn: its link no longer works.",
    )


def _member_action(
    request: HttpRequest, membership_id: int, action: Any, done: str, **kwargs: Any
) -> HttpResponse:
    membership = get_membership_for(clinic=request.tenant, membership_id=membership_id)  # type: ignore[attr-defined]
    try:
        membership = action(actor=request.user, membership=membership, **kwargs)
    except StaffChangeRefused as refusal:
        errors = {membership.pk: refusal.message}
        return _staff_page(request, member_errors=errors, status=_refusal_status(refusal))
    name = membership.user.full_name or membership.user.email
    messages.success(request, done.format(name=name, role=membership.get_role_display()))
    return redirect("staff")


@capability_view(Capability.STAFF_MANAGE)
@require_POST
def staff_member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        membership = get_membership_for(clinic=request.tenant, membership_id=membership_id)  # type: ignore[attr-defined]
        errors = {membership.pk: "Choose one of the roles in the list."}
        return _staff_page(request, member_errors=errors, status=400)
    return _member_action(
        request,
        membership_id,
        membership_change_role,
        "{name} is now {role}.",
        role=form.cleaned_data["role"],
    )


@capability_view(Capability.STAFF_MANAGE)
@require_POST
def staff_member_deactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _member_action(
        request,
        membership_id,
        membership_deactivate,
        "{name} is deactivated: signed out here, and can no longer sign in to this clinic.",
    )


@capability_view(Capability.STAFF_MANAGE)
@require_POST
def staff_member_reactivate(request: HttpRequest, membership_id: int) -> HttpResponse:
    return _member_action(
        request, membership_id, membership_reactivate, "{name} can sign in again, as {role}."
    )


# --- the invite link --------------------------------------------------------------------


def _invite_unusable(request: HttpRequest, refusal: InviteNotUsable) -> HttpResponse:
    status = 410 if refusal.is_gone else 404
    context = {"message": refusal.message, "problem": refusal.problem.value}
    return render(request, "staff/invite_invalid.html", context, status=status)


def _sign_out_someone_else(request: HttpRequest, invite: Invite) -> None:
    """Whoever is signed in on this host as another person is signed out first."""
    user = request.user
    if not user.is_authenticated or user.email.lower() == invite.email.lower():
        return
    email = user.email
    sign_out_record(user=user, reason="invite")
    logout(request)
    messages.info(
        request, f"You were signed out of {email} so that this invitation can be accepted."
    )


@public_view
@sensitive_post_parameters("password", "password_confirm")
@never_cache
@require_http_methods(["GET", "POST"])
def invite_accept_page(request: HttpRequest, token: str) -> HttpResponse:
    clinic = request.tenant  # type: ignore[attr-defined]
    try:
        invite = invite_for_token(clinic=clinic, token=token)
    except InviteNotUsable as refusal:
        return _invite_unusable(request, refusal)
    _sign_out_someone_else(request, invite)
    account = account_for_email(invite.email)
    signed_in_as_account = account is not None and request.user.pk == account.pk
    data = request.POST if request.method == "POST" else None
    form: AcceptForm | None
    if signed_in_as_account:
        form = None
    elif account is None:
        form = AcceptNewAccountForm(data, email=invite.email)
    else:
        form = AcceptExistingAccountForm(data)
    if request.method == "POST":
        response = _accept(request, token, form, account, signed_in_as_account)
        if response is not None:
            return response
    context = {
        "invite": invite,
        "form": form,
        "has_account": account is not None,
        "signed_in_as_account": signed_in_as_account,
    }
    return render(
        request, "staff/invite_accept.html", context, status=400 if form and form.errors else 200
    )


def _accept(
    request: HttpRequest,
    token: str,
    form: AcceptForm | None,
    account: User | None,
    signed_in_as_account: bool,
) -> HttpResponse | None:
    """Accept the invite from the posted form; None to show the form again with its errors."""
    clinic = request.tenant  # type: ignore[attr-defined]
    if form is not None and not form.is_valid():
        return None
    data: dict[str, Any] = form.cleaned_data if form is not None else {}
    if account is not None and not signed_in_as_account:
        locked_until = sign_in_locked_until(clinic_id=clinic.pk, email=account.email)
        if locked_until is not None and form is not None:
            # The sign-in throttle holds here too: this form must not be a way to guess
            # the account's password around it.
            form.add_error(None, sign_in_locked_message(locked_until))
            return None
    try:
        membership = invite_accept(
            token=token,
            clinic=clinic,
            full_name=data.get("full_name"),
            password=data.get("password"),
            user=request.user if signed_in_as_account else None,  # type: ignore[arg-type]
        )
    except InviteNotUsable as refusal:  # a second click, or revoked meanwhile
        return _invite_unusable(request, refusal)
    except StaffChangeRefused as refusal:
        if isinstance(refusal, WrongAccountPassword) and account is not None:
            sign_in_failure_record(clinic_id=clinic.pk, email=account.email)
        if form is None:
            messages.error(request, refusal.message)
            return redirect("invite-accept", token=token)
        form.add_error(refusal.field if refusal.field in form.fields else None, refusal.messages)
        return None
    return _after_accept(request, membership, already_signed_in=signed_in_as_account)


def _after_accept(
    request: HttpRequest, membership: Membership, *, already_signed_in: bool
) -> HttpResponse:
    clinic = request.tenant  # type: ignore[attr-defined]
    user = membership.user
    if already_signed_in:
        messages.success(request, f"Welcome to {clinic.name}!")
        return redirect("dashboard")
    step = second_factor_step(user=user, require_two_factor=clinic.require_two_factor)
    if step != SecondFactorStep.NONE:
        # A second factor is due: the sign-in page asks for it (or sets it up) as usual.
        messages.info(request, "Welcome! Sign in to continue.")
        return redirect("sign-in")
    sign_in_complete(request, user, method="invite")
    messages.success(request, f"Welcome to {clinic.name}! You are signed in.")
    return redirect("dashboard")
