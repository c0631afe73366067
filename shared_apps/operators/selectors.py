"""Reads of the operator console beyond the fleet counts (provisioning.selectors): one
clinic's registry facts, its status history, and the operator's own tokens.

Nothing here opens a clinic schema: registry rows, domains, memberships, invites and the
operator trail all live in `public`.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from shared_apps.accounts.models import Role, User
from shared_apps.clinics.models import Clinic, Domain
from shared_apps.operators.models import OperatorEvent, OperatorToken
from shared_apps.staff.models import Invite

HISTORY_LIMIT = 50


def clinic_get_for_operator(*, clinic_id: int) -> Clinic:
    clinic: Clinic | None = Clinic.objects.filter(pk=clinic_id).first()
    if clinic is None:
        raise Http404("No such clinic.")
    return clinic


def clinic_events(*, clinic: Clinic, limit: int = HISTORY_LIMIT) -> list[OperatorEvent]:
    """What operators did to this clinic (created, suspended, resumed, ...), newest first."""
    return list(OperatorEvent.objects.filter(clinic_id=clinic.pk).order_by("-at", "-pk")[:limit])


def clinic_domains(*, clinic: Clinic) -> list[Domain]:
    return list(Domain.objects.filter(tenant=clinic).order_by("-is_primary", "domain"))


def clinic_pending_owner_invites(*, clinic: Clinic) -> list[str]:
    """Emails invited to own the clinic who have not accepted yet."""
    invites = Invite.objects.filter(
        clinic=clinic, role=Role.OWNER, accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("email")
    return [str(email) for email in invites.values_list("email", flat=True)]


def operator_tokens_of(*, user: User) -> QuerySet[OperatorToken]:
    return OperatorToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def operator_token_get_for(*, user: User, token_id: int) -> OperatorToken:
    """The user's own token; the same 404 for a missing token and someone else's."""
    token = OperatorToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token
