"""Reads the staff page and the API share: members, invites, and what a link points to."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max, QuerySet
from django.http import Http404

from drcrm.link_tokens import link_token_hash
from shared_apps.accounts.models import Membership, User
from shared_apps.clinics.models import Clinic
from shared_apps.staff.errors import InviteNotUsable, InviteProblem
from shared_apps.staff.models import Invite
from tenant_apps.audit.models import AuditEvent


def members_of(*, clinic: Clinic) -> QuerySet[Membership]:
    """Everyone who belongs (or belonged) to the clinic: active first, then by name."""
    return (
        Membership.objects.filter(clinic=clinic)
        .select_related("user", "invited_by")
        .order_by("-is_active", "user__full_name", "user__email", "pk")
    )


def last_sign_ins(*, user_ids: list[int]) -> dict[int, datetime]:
    """When each user last signed in here (the active schema's clinic), from its audit trail."""
    rows = (
        AuditEvent.objects.filter(action="sign_in", actor_id__in=user_ids)
        .values("actor_id")
        .annotate(last=Max("occurred_at"))
    )
    return {row["actor_id"]: row["last"] for row in rows if row["actor_id"] is not None}


def invites_pending(*, clinic: Clinic) -> QuerySet[Invite]:
    """Invites not yet accepted or revoked, expired ones included (shown as expired)."""
    return (
        Invite.objects.filter(clinic=clinic, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-last_sent_at", "-pk")
    )


def get_invite_for(*, clinic: Clinic, invite_id: int | str) -> Invite:
    """The clinic's invite `invite_id`; the same 404 whether it is missing or another clinic's."""
    try:
        return Invite.objects.select_related("invited_by").get(pk=int(invite_id), clinic=clinic)
    except (Invite.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invite.") from None


def get_membership_for(*, clinic: Clinic, membership_id: int | str) -> Membership:
    """The clinic's membership `membership_id`; the same 404 for missing and not yours."""
    try:
        return Membership.objects.select_related("user").get(pk=int(membership_id), clinic=clinic)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such member.") from None


def invite_for_token(*, clinic: Clinic, token: str, for_update: bool = False) -> Invite:
    """The open invite this link token opens at `clinic`, or InviteNotUsable saying why not.

    Another clinic's token is "unknown" here, exactly like a made-up one: the page never
    tells a visitor which other clinics exist or whom they invited.
    """
    invites = Invite.objects.select_related("clinic", "invited_by")
    if for_update:
        invites = invites.select_for_update(of=("self",))
    invite = invites.filter(token_hash=link_token_hash(token), clinic=clinic).first()
    if invite is None:
        raise InviteNotUsable(InviteProblem.UNKNOWN)
    if invite.accepted_at is not None:
        raise InviteNotUsable(InviteProblem.USED)
    if invite.revoked_at is not None:
        raise InviteNotUsable(InviteProblem.REVOKED)
    if invite.is_expired:
        raise InviteNotUsable(InviteProblem.EXPIRED)
    return invite


def account_for_email(email: str) -> User | None:
    """The DR. CRM account of this address, if there is one (emails are case-insensitive)."""
    return User.objects.filter(email__iexact=email.strip()).first()
