"""Ending sessions on purpose: "sign out everywhere else", deactivation, password change."""

from __future__ import annotations

from django.db import transaction

from shared_apps.user_sessions.models import UserSession


def sessions_end_for_user(*, user_id: int, keep_session_key: str | None = None) -> int:
    """End the user's sessions in the current schema (clinic), except `keep_session_key`.

    Deleting the row is what ends a session: the next request with that cookie finds no
    session and is anonymous. Returns how many were ended.
    """
    with transaction.atomic():
        sessions = UserSession.objects.filter(user_id=user_id)
        if keep_session_key:
            sessions = sessions.exclude(session_key=keep_session_key)
        deleted, _ = sessions.delete()
    return deleted
