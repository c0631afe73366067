from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared_apps.accounts.models import User
from shared_apps.clinics.models import Clinic
from shared_apps.two_factor.models import RecoveryCode, TotpDevice
from shared_apps.two_factor.secret_box import UnreadableSecret, unseal

logger = logging.getLogger(__name__)


class SecondFactorStep(StrEnum):
    NONE = "none"  # password alone signs in
    VERIFY = "verify"  # the user has an authenticator: ask for a code
    ENROL = "enrol"  # the clinic requires 2FA and the user has none yet: set it up first


def confirmed_device_of(user: User) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def readable_secret(device: TotpDevice, *, pending: bool = False) -> str | None:
    """The device's secret (or pending secret) in clear; None if there is none, or if no
    configured key opens it.

    An unreadable secret means a key was removed or changed by mistake: the device then
    simply cannot verify (the person can still use a recovery code, or set up the app
    again), and operators learn of it from the log rather than from a 500.
    """
    sealed = device.pending_secret if pending else device.secret
    if not sealed:
        return None
    try:
        return unseal(sealed)
    except UnreadableSecret:
        logger.error(
            "two_factor: the %s of user %s opens with no key in TWO_FACTOR_ENCRYPTION_KEYS",
            "pending secret" if pending else "secret",
            device.user_id,
        )
        return None


def secret_being_set_up(*, user: User) -> str | None:
    """The secret of an app the user is setting up and has not confirmed yet, if any.

    None also when it cannot be read: the set-up pages then start a fresh one.
    """
    device = TotpDevice.objects.filter(user=user).first()
    if device is None:
        return None
    return readable_secret(device, pending=device.is_confirmed)


def second_factor_step(*, user: User, require_two_factor: bool) -> SecondFactorStep:
    """What stands between a correct password and a session, for this user at this clinic."""
    if confirmed_device_of(user) is not None:
        return SecondFactorStep.VERIFY
    if require_two_factor:
        return SecondFactorStep.ENROL
    return SecondFactorStep.NONE


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def clinics_requiring_two_factor(*, user: User) -> list[Clinic]:
    """The clinics where `user` is an active member and two-factor sign-in is required.

    The authenticator is the person's, not a clinic's: turning it off on one clinic's
    site would also strip it from every other clinic they work in.
    """
    return list(
        Clinic.objects.filter(
            require_two_factor=True,
            memberships__user=user,
            memberships__is_active=True,
        )
        .order_by("name")
        .distinct()
    )


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    since: datetime | None
    recovery_codes_left: int
    required_by: list[Clinic]


def two_factor_status(*, user: User) -> TwoFactorStatus:
    device = confirmed_device_of(user)
    return TwoFactorStatus(
        enabled=device is not None,
        since=device.confirmed_at if device is not None else None,
        recovery_codes_left=recovery_codes_left(user=user) if device is not None else 0,
        required_by=clinics_requiring_two_factor(user=user),
    )
