"""Sign-in that only succeeds for an active member of the clinic being signed in to."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from shared_apps.accounts.models import User
from shared_apps.accounts.selectors import get_active_membership


class ClinicMemberBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or request is None:
            return None
        clinic_id = getattr(getattr(request, "tenant", None), "pk", None)
        if clinic_id is None:
            return None  # the public site has no staff sign-in (operators get their own)
        # A non-member gets the same answer as a wrong password: no oracle for who works where.
        if get_active_membership(user=user, clinic_id=clinic_id) is None:
            return None
        return user
