"""Every change to who works at a clinic: invites, roles, deactivation.

Each function checks the actor's own right to act (views and the API check the page's
capability too; the service is the last word), runs in one transaction and leaves one
audit row in the clinic's trail. They run on the clinic's schema, as clinic requests do:
that is where the audit row and the sessions to end live.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from drcrm.link_tokens import link_token_new
from drcrm.mail import clinic_url, send_email_on_commit
from drcrm.tenancy import current_schema_name
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.accounts.roles import Capability, role_can
from shared_apps.clinics.models import Clinic
from shared_apps.staff.errors import StaffChangeRefused, WrongAccountPassword
from shared_apps.staff.models import INVITE_VALID_HOURS, Invite
from shared_apps.staff.selectors import account_for_email, invite_for_token
from shared_apps.user_sessions.services import sessions_end_for_user
from tenant_apps.audit.services import audit_record

MAX_FULL_NAME_LENGTH = 200


# --- rules every function shares ---------------------------------------------------------


def _on_clinic_schema(clinic: Clinic) -> None:
    # The audit row and the sessions to end live in the clinic's schema; running on another
    # one would write this clinic's history into someone else's trail.
    if current_schema_name() != clinic.schema_name:
        raise RuntimeError(f"staff services for {clinic.schema_name} must run on its schema")


def _actor_membership(actor: User, clinic: Clinic) -> Membership:
    """The actor's active membership, locked, if it grants staff management."""
    membership = (
        Membership.objects.select_for_update()
        .filter(user_id=actor.pk, clinic=clinic, is_active=True)
        .first()
    )
    if membership is None or not actor.is_active:
        raise StaffChangeRefused("You are not a member of this clinic.", forbidden=True)
    if not role_can(membership.role, Capability.STAFF_MANAGE):
        raise StaffChangeRefused("Your role does not allow managing staff.", forbidden=True)
    return membership


def _valid_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise StaffChangeRefused("Choose one of the roles in the list.", field="role") from None


def _only_owners_touch_owners(actor_membership: Membership, *roles: str) -> None:
    if Role.OWNER in roles and actor_membership.role != Role.OWNER:
        raise StaffChangeRefused(
            "Only an owner can make someone an owner or change an owner.",
            field="role",
            forbidden=True,
        )


def _keep_an_owner(membership: Membership, *, field: str) -> None:
    """Refuse to take away the clinic's last active owner (call with the owners locked)."""
    if membership.role != Role.OWNER or not membership.is_active:
        return
    others = Membership.objects.filter(
        clinic_id=membership.clinic_id, role=Role.OWNER, is_active=True
    ).exclude(pk=membership.pk)
    if not others.exists():
        raise StaffChangeRefused(
            f"{_name_of(membership.user)} is the clinic's last active owner: "
            "make someone else an owner first.",
            field=field,
        )


def _lock_owners(clinic: Clinic) -> None:
    # Two owners demoting each other at the same moment must not leave the clinic with none:
    # whoever comes second waits here and then sees the first one's change.
    list(
        Membership.objects.select_for_update()
        .filter(clinic=clinic, role=Role.OWNER, is_active=True)
        .values_list("pk", flat=True)
    )


def _not_yourself(actor: User, membership: Membership, what: str) -> None:
    if membership.user_id == actor.pk:
        raise StaffChangeRefused(f"You cannot {what} yourself. Ask another owner or admin.")


def _name_of(user: User) -> str:
    return user.full_name or user.email


# --- invites ----------------------------------------------------------------------------


def _normalised_email(email: str) -> str:
    email = User.objects.normalize_email((email or "").strip())
    try:
        validate_email(email)
    except ValidationError:
        raise StaffChangeRefused("Enter a valid email address.", field="email") from None
    return email


def _refuse_if_member(clinic: Clinic, email: str) -> None:
    if Membership.objects.filter(clinic=clinic, user__email__iexact=email, is_active=True).exists():
        raise StaffChangeRefused(
            f"{email} is already a member of this clinic: change their role in the list "
            "of members instead.",
            field="email",
        )


def _new_link(invite: Invite) -> str:
    """A fresh token for `invite` (the old link stops working); returns the token."""
    token, invite.token_hash = link_token_new()
    now = timezone.now()
    invite.expires_at = now + timedelta(hours=INVITE_VALID_HOURS)
    invite.last_sent_at = now
    return token


def _send_invite_email(invite: Invite, token: str, inviter: User | None) -> None:
    clinic = invite.clinic
    expires = timezone.localtime(invite.expires_at, ZoneInfo(clinic.time_zone))
    # A clinic's first owner is invited by the platform (an operator or the CLI).
    inviter_name = _name_of(inviter) if inviter is not None else "The DR. CRM team"
    send_email_on_commit(
        to=invite.email,
        subject=f"{inviter_name} invited you to join {clinic.name} on DR. CRM",
        template="invite",
        context={
            "accept_url": clinic_url(clinic, f"/invite/{token}/"),
            "inviter_name": inviter_name,
            "role_name": Role(invite.role).label,
            # Formatted here: the template's date filter would turn it back to UTC.
            "expires_on": f"{expires.day} {expires:%B %Y, %H:%M}",
            "time_zone": clinic.time_zone,
            "valid_hours": INVITE_VALID_HOURS,
        },
        idempotency_key=f"invite/{invite.pk}/{invite.sent_count}",
        clinic=clinic,
    )


def invite_create(*, actor: User, clinic: Clinic, email: str, role: str) -> Invite:
    """Invite `email` to join `clinic` as `role`, or re-send the address' open invite.

    An address has at most one open invite per clinic: inviting it again sends a new link
    (with the role asked for now) and kills the old one.
    """
    _on_clinic_schema(clinic)
    email = _normalised_email(email)
    role = _valid_role(role)
    with transaction.atomic():
        actor_membership = _actor_membership(actor, clinic)
        _only_owners_touch_owners(actor_membership, role)
        _refuse_if_member(clinic, email)
        invite = (
            Invite.objects.select_for_update()
            .filter(
                clinic=clinic,
                email__iexact=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
            )
            .first()
        )
        if invite is not None:
            _only_owners_touch_owners(actor_membership, invite.role)
            return _resend(actor=actor, invite=invite, role=role)
        invite = Invite(clinic=clinic, email=email, role=role, invited_by=actor)
        token = _new_link(invite)
        try:
            with transaction.atomic():  # a savepoint: the constraint may catch a twin request
                invite.save()
        except IntegrityError:
            raise StaffChangeRefused(
                "An invite to this address was sent a moment ago: see the pending invites.",
                field="email",
            ) from None
        audit_record(actor=actor, action="invite.created", target=invite, details={"role": role})
        _send_invite_email(invite, token, actor)
    return invite


def owner_invite_create(*, actor: User | None, clinic: Clinic, email: str) -> Invite:
    """Invite the first owner of a clinic being provisioned (no member can invite yet).

    Called by the provisioning service inside its transaction: the email goes out only if
    the whole clinic commits.
    """
    _on_clinic_schema(clinic)
    email = _normalised_email(email)
    invite = Invite(clinic=clinic, email=email, role=Role.OWNER, invited_by=actor)
    token = _new_link(invite)
    invite.save()
    audit_record(actor=actor, action="invite.created", target=invite, details={"role": "owner"})
    _send_invite_email(invite, token, actor)
    return invite


def _resend(*, actor: User, invite: Invite, role: str | None = None) -> Invite:
    token = _new_link(invite)
    invite.sent_count += 1
    if role is not None:
        invite.role = role
    invite.save(update_fields=["token_hash", "expires_at", "last_sent_at", "sent_count", "role"])
    audit_record(
        actor=actor,
        action="invite.resent",
        target=invite,
        details={"role": invite.role, "sent_count": invite.sent_count},
    )
    _send_invite_email(invite, token, actor)
    return invite


def _lock_open_invite(invite: Invite) -> Invite:
    locked = (
        Invite.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=invite.pk)
    )
    if not locked.is_open:
        raise StaffChangeRefused("This invite has already been accepted or withdrawn.")
    return locked


def invite_resend(*, actor: User, invite: Invite) -> Invite:
    """Send the invite again with a new link and 72 more hours; the old link stops working."""
    _on_clinic_schema(invite.clinic)
    with transaction.atomic():
        actor_membership = _actor_membership(actor, invite.clinic)
        invite = _lock_open_invite(invite)
        _only_owners_touch_owners(actor_membership, invite.role)
        _refuse_if_member(invite.clinic, invite.email)
        return _resend(actor=actor, invite=invite)


def invite_revoke(*, actor: User, invite: Invite) -> Invite:
    """Withdraw an open invite: its link stops working at once."""
    _on_clinic_schema(invite.clinic)
    with transaction.atomic():
        actor_membership = _actor_membership(actor, invite.clinic)
        invite = _lock_open_invite(invite)
        _only_owners_touch_owners(actor_membership, invite.role)
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="invite.revoked", target=invite, details={})
    return invite


def _new_account(invite: Invite, full_name: str | None, password: str | None) -> User:
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise StaffChangeRefused("Enter your full name.", field="full_name")
    if len(full_name) > MAX_FULL_NAME_LENGTH:
        raise StaffChangeRefused(
            f"Use at most {MAX_FULL_NAME_LENGTH} characters.", field="full_name"
        )
    if not password:
        raise StaffChangeRefused("Choose a password.", field="password")
    candidate = User(email=invite.email, full_name=full_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise StaffChangeRefused(*exc.messages, field="password") from None
    try:
        with transaction.atomic():  # the address may have signed up a moment ago elsewhere
            return User.objects.create_user(invite.email, password, full_name=full_name)
    except IntegrityError:
        raise StaffChangeRefused(
            "An account with this email was just created: enter its password instead.",
            field="password",
        ) from None


def _existing_account(account: User, password: str | None, user: User | None) -> User:
    """`account` if the person proved it is theirs: signed in as it, or its password."""
    if user is not None and user.is_authenticated and user.pk == account.pk:
        return account
    if account.is_active and password and account.check_password(password):
        return account
    raise WrongAccountPassword("That is not the password of this account.", field="password")


def invite_accept(
    *,
    token: str,
    clinic: Clinic,
    full_name: str | None = None,
    password: str | None = None,
    user: User | None = None,
) -> Membership:
    """Turn an invite link into a membership, creating the account if the address has none.

    An address that already has a DR. CRM account joins with that account, and only once
    its owner has proved it: signed in as it (`user`) or by typing its `password`. The
    invite row is locked, so a double submit makes one membership and a "used" refusal.
    """
    _on_clinic_schema(clinic)
    with transaction.atomic():
        invite = invite_for_token(clinic=clinic, token=token, for_update=True)
        account = account_for_email(invite.email)
        new_account = account is None
        if account is None:
            account = _new_account(invite, full_name, password)
        else:
            account = _existing_account(account, password, user)
        membership = _join(invite, account)
        invite.accepted_at = timezone.now()
        invite.accepted_by = account
        invite.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            actor=account,
            action="invite.accepted",
            target=invite,
            details={
                "membership": membership.pk,
                "role": membership.role,
                "new_account": new_account,
            },
        )
    return membership


def _join(invite: Invite, account: User) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .filter(user=account, clinic_id=invite.clinic_id)
        .first()
    )
    if membership is None:
        return Membership.objects.create(
            user=account, clinic_id=invite.clinic_id, role=invite.role, invited_by=invite.invited_by
        )
    if not membership.is_active:
        # Someone who left and is invited back comes back with the role of the new invite.
        membership.is_active = True
        membership.role = invite.role
        membership.invited_by = invite.invited_by
        membership.save(update_fields=["is_active", "role", "invited_by"])
    # Already an active member (they joined some other way meanwhile): their role stays as
    # it is; the invite is simply used up.
    return membership


# --- memberships ------------------------------------------------------------------------


def _lock_membership(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "clinic")
        .get(pk=membership.pk)
    )


def membership_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
    """Give a member another role; never the clinic's last owner, never one's own."""
    clinic = membership.clinic
    _on_clinic_schema(clinic)
    role = _valid_role(role)
    with transaction.atomic():
        _lock_owners(clinic)
        actor_membership = _actor_membership(actor, clinic)
        membership = _lock_membership(membership)
        if membership.role == role:
            return membership
        _only_owners_touch_owners(actor_membership, membership.role, role)
        _keep_an_owner(membership, field="role")
        _not_yourself(actor, membership, "change the role of")
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            action="membership.role_changed",
            target=membership,
            details={"user": membership.user_id, "from": previous, "to": role},
        )
    return membership


def membership_deactivate(*, actor: User, membership: Membership) -> Membership:
    """Take a member's access away now: their sessions here end on the spot.

    Their API tokens here stop working too, without being touched: every API request
    checks the caller's membership.
    """
    clinic = membership.clinic
    _on_clinic_schema(clinic)
    with transaction.atomic():
        _lock_owners(clinic)
        actor_membership = _actor_membership(actor, clinic)
        membership = _lock_membership(membership)
        if not membership.is_active:
            return membership
        _only_owners_touch_owners(actor_membership, membership.role)
        _keep_an_owner(membership, field="is_active")
        _not_yourself(actor, membership, "deactivate")
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        ended = sessions_end_for_user(user_id=membership.user_id)
        audit_record(
            actor=actor,
            action="membership.deactivated",
            target=membership,
            details={"user": membership.user_id, "sessions_ended": ended},
        )
    return membership


def membership_reactivate(*, actor: User, membership: Membership) -> Membership:
    """Let a deactivated member back in, with the role they had."""
    clinic = membership.clinic
    _on_clinic_schema(clinic)
    with transaction.atomic():
        actor_membership = _actor_membership(actor, clinic)
        membership = _lock_membership(membership)
        if membership.is_active:
            return membership
        _not_yourself(actor, membership, "reactivate")
        _only_owners_touch_owners(actor_membership, membership.role)
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="membership.reactivated",
            target=membership,
            details={"user": membership.user_id, "role": membership.role},
        )
    return membership


def membership_update(
    *, actor: User, membership: Membership, role: str | None = None, is_active: bool | None = None
) -> Membership:
    """Role and/or active state in one go (the API's PATCH): both apply, or neither."""
    with transaction.atomic():
        if role is not None:
            membership = membership_change_role(actor=actor, membership=membership, role=role)
        if is_active is True:
            membership = membership_reactivate(actor=actor, membership=membership)
        elif is_active is False:
            membership = membership_deactivate(actor=actor, membership=membership)
    return membership
