"""Sessions that know whose they are, so people can see and end their own.

The app sits in both SHARED_APPS and TENANT_APPS like Django's own sessions app: a session
row lives only in the schema of the clinic (or the public site) that issued it, so a cookie
from clinic A is unknown on clinic B even when copied by hand. The extra columns are copied
from the session data on every save (see `store.py`), never written on their own.
"""

from __future__ import annotations

from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class UserSession(AbstractBaseSession):
    # A plain id, not a foreign key: users live in `public` and a user's deletion must not
    # have to visit every clinic schema. Sessions of a removed user are simply refused.
    user_id = models.BigIntegerField(null=True, db_index=True)
    signed_in_at = models.DateTimeField(null=True)
    last_seen_at = models.DateTimeField(null=True)
    ip_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta(AbstractBaseSession.Meta):
        db_table = "user_sessions_session"

    @classmethod
    def get_session_store_class(cls) -> type:
        from shared_apps.user_sessions.store import SessionStore

        return SessionStore
