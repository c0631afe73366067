from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.user_sessions.models import UserSession


def sessions_of_user(*, user_id: int) -> QuerySet[UserSession]:
    """The user's live sessions in the current schema (clinic), most recently used first."""
    return UserSession.objects.filter(user_id=user_id, expire_date__gt=timezone.now()).order_by(
        "-last_seen_at"
    )
