"""The session engine (`SESSION_ENGINE = "shared_apps.user_sessions.store"`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from shared_apps.user_sessions.models import UserSession

# Keys the sign-in and session-policy code keep in the session data (epoch seconds, text).
SIGNED_IN_AT = "drcrm_signed_in_at"
LAST_SEEN_AT = "drcrm_last_seen_at"
IP_ADDRESS = "drcrm_ip"
USER_AGENT = "drcrm_user_agent"
# How the session was opened: "password", "invite", "totp" or "recovery_code".
SIGN_IN_METHOD = "drcrm_sign_in_method"


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=timezone.get_current_timezone())


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        session = cast(UserSession, super().create_model_instance(data))
        user_id = data.get(SESSION_KEY)
        session.user_id = int(user_id) if user_id is not None else None
        session.signed_in_at = _timestamp(data.get(SIGNED_IN_AT))
        session.last_seen_at = _timestamp(data.get(LAST_SEEN_AT))
        session.ip_address = data.get(IP_ADDRESS) or None
        session.user_agent = str(data.get(USER_AGENT, ""))[:300]
        return session
