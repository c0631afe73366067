"""Writes about a person's second factor: their authenticator secret and recovery codes.

Devices and codes are global (public schema); the audit rows go to the clinic the
request is on, or to the operator trail on the public site (operator sign-in).
"""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.operators.services import security_event_record
from shared_apps.two_factor import totp
from shared_apps.two_factor.models import RecoveryCode, TotpDevice
from shared_apps.two_factor.secret_box import UnreadableSecret, reseal, seal
from shared_apps.two_factor.selectors import clinics_requiring_two_factor, readable_secret

RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper must not be ambiguous. 31^8 is about 2^39.6,
# and every wrong guess counts towards the sign-in lock.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_CHUNK = 4


def normalise_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _recovery_hash(code: str) -> str:
    # Codes are random with ~40 bits of entropy, so a fast hash suffices: there is no
    # dictionary to try, unlike a password.
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    chunks = (
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CHUNK)) for _ in range(2)
    )
    return "-".join(chunks)


def _recovery_codes_replace(user: User) -> list[str]:
    """Throw away the old codes, store the hashes of fresh ones, return them in clear."""
    RecoveryCode.objects.filter(user=user).delete()
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(_new_recovery_code())
    plain = sorted(codes)
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=_recovery_hash(code)) for code in plain]
    )
    return plain


def totp_device_start(*, user: User) -> str:
    """A new secret for `user` to scan; returns it in clear (it is stored encrypted).
    Nothing changes until it is confirmed.

    Without two-factor, it becomes the user's unconfirmed device (replacing one they never
    confirmed). With two-factor on, it waits as the *pending* secret of a move to a new
    phone, and the old phone keeps working until the new one proves itself.
    """
    secret = totp.new_secret()
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.is_confirmed:
            device.pending_secret = seal(secret)
            device.save(update_fields=["pending_secret"])
        else:
            if device is not None:
                device.delete()
            TotpDevice.objects.create(user=user, secret=seal(secret))
    return secret


def totp_device_confirm(*, user: User, code: str) -> list[str] | None:
    """Switch to the secret being set up once its app shows a right code: returns fresh
    recovery codes (in clear, the only time they exist so), or None if the code is wrong
    or nothing is being set up."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None:
            return None
        replacing = device.is_confirmed
        new_secret = readable_secret(device, pending=replacing)
        if new_secret is None:
            return None
        step = totp.matching_step(new_secret, code, after_step=device.last_used_step)
        if step is None:
            return None
        # Sealed afresh: with the current first key, whichever key sealed it at the start.
        device.secret, device.pending_secret = seal(new_secret), ""
        device.confirmed_at = timezone.now()
        # The confirming code is spent: it cannot also sign someone in.
        device.last_used_step = step
        device.save(update_fields=["secret", "pending_secret", "confirmed_at", "last_used_step"])
        codes = _recovery_codes_replace(user)
        security_event_record(
            actor=user,
            action="two_factor.enabled",
            target=user,
            details={"replaced": replacing, "recovery_codes": len(codes)},
        )
    return codes


def totp_verify(*, user: User, code: str) -> bool:
    """Whether `code` is a fresh code of the user's authenticator; spends it if so.

    The device row is locked while checking, so two requests with the same code cannot
    both pass: the second sees the step the first recorded.
    """
    with transaction.atomic():
        device = (
            TotpDevice.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=False)
            .first()
        )
        step = None
        secret = readable_secret(device) if device is not None else None
        if device is not None and secret is not None:
            step = totp.matching_step(secret, code, after_step=device.last_used_step)
        if device is None or step is None:
            security_event_record(
                actor=None,
                actor_email=user.email,
                action="two_factor.failed",
                target=user,
                details={"method": "totp"},
            )
            return False
        device.last_used_step = step
        device.save(update_fields=["last_used_step"])
    return True


def recovery_code_use(*, user: User, code: str) -> bool:
    """Whether `code` is one of the user's unused recovery codes; spends it if so."""
    with transaction.atomic():
        recovery = (
            RecoveryCode.objects.select_for_update()
            .filter(
                user=user,
                code_hash=_recovery_hash(code),
                used_at__isnull=True,
                user__totp_device__confirmed_at__isnull=False,
            )
            .first()
        )
        if recovery is None:
            security_event_record(
                actor=None,
                actor_email=user.email,
                action="two_factor.failed",
                target=user,
                details={"method": "recovery_code"},
            )
            return False
        recovery.used_at = timezone.now()
        recovery.save(update_fields=["used_at"])
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        security_event_record(
            actor=user,
            action="two_factor.recovery_code_used",
            target=user,
            details={"left": left},
        )
    return True


def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Fresh recovery codes (the old ones stop working); returned in clear, once."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or not device.is_confirmed:
            raise ValidationError("Two-factor sign-in is off.", code="off")
        codes = _recovery_codes_replace(user)
        security_event_record(
            actor=user,
            action="two_factor.recovery_codes_regenerated",
            target=user,
            details={"recovery_codes": len(codes)},
        )
    return codes


def totp_device_remove(*, user: User) -> None:
    """Turn two-factor off: the authenticator and the recovery codes are forgotten.

    Refused while any clinic the person works in requires two-factor sign-in: the
    device is global, so removing it here would remove it there too.
    """
    with transaction.atomic():
        requiring = clinics_requiring_two_factor(user=user)
        if requiring:
            names = ", ".join(clinic.name for clinic in requiring)
            raise ValidationError(
                f"{names} requires two-factor sign-in, so it must stay on. "
                'To use another phone, choose "Move to a new phone" instead.',
                code="required",
            )
        deleted, _ = TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        if deleted:
            security_event_record(actor=user, action="two_factor.disabled", target=user, details={})


def totp_device_reseal(*, device_id: int) -> bool:
    """Encrypt one device's secrets again with the first key (after a key rotation).

    Platform maintenance, not a person's action: it runs on `public` and writes no audit
    row. Returns False, changing nothing, when no configured key opens a secret.
    """
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().get(pk=device_id)
        try:
            device.secret = reseal(device.secret)
            if device.pending_secret:
                device.pending_secret = reseal(device.pending_secret)
        except UnreadableSecret:
            return False
        device.save(update_fields=["secret", "pending_secret"])
    return True
