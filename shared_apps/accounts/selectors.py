from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from shared_apps.accounts.models import Membership, User


def get_active_membership(*, user: User | AnonymousUser, clinic_id: int) -> Membership | None:
    """The user's membership in the clinic if it lets them in today, else None."""
    if not user.is_authenticated or not user.is_active:
        return None
    return (
        Membership.objects.filter(user_id=user.pk, clinic_id=clinic_id, is_active=True)
        .select_related("clinic")
        .first()
    )
