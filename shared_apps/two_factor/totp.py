"""Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 6 digits, 30 s steps.

What every authenticator app (Google Authenticator, 1Password, Aegis, ...) speaks by
default, written with the standard library only. Tested against the RFC 6238 vectors in
tests/shared_apps/two_factor/test_totp.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import time
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
# A phone clock a little off, or a code typed as it rolls over, still works: one step
# either side of now (RFC 6238 section 5.2 recommends at most one step of network delay).
DRIFT_STEPS = 1
# 160 bits: the key length RFC 4226 section 4 recommends for HMAC-SHA1.
SECRET_BYTES = 20
ISSUER = "DR. CRM"

_CODE = re.compile(f"[0-9]{{{DIGITS}}}")


def is_well_formed(code: str) -> bool:
    """Exactly DIGITS ASCII digits (str.isdigit would also accept other scripts' digits)."""
    return _CODE.fullmatch(code) is not None


def new_secret() -> str:
    """A fresh shared secret, base32 without padding (what apps expect in the URI)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, *, digits: int = DIGITS) -> str:
    """RFC 4226 section 5.3: HMAC-SHA1 of the counter, dynamically truncated."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    binary = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: float | None = None) -> int:
    """The RFC 6238 counter T for Unix time `at` (now if None), with T0 = 0."""
    return int((time.time() if at is None else at) // STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    return hotp(_key(secret), step)


def code_at(secret: str, at: float | None = None) -> str:
    """The code an app shows at time `at` (now if None)."""
    return code_at_step(secret, time_step(at))


def matching_step(
    secret: str, code: str, *, after_step: int, at: float | None = None
) -> int | None:
    """The time step `code` belongs to, if it is within the drift window and newer than
    `after_step`; else None.

    Refusing steps at or before `after_step` (the last step accepted) is the replay
    protection: a code, and any code older than it, never works twice.
    """
    if not is_well_formed(code):
        return None
    key = _key(secret)
    now_step = time_step(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        # compare_digest: how long a comparison takes reveals nothing about the right code.
        if step > after_step and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret: str, account_email: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an app reads from the QR code (Key Uri Format)."""
    label = f"{quote(issuer, safe='')}:{quote(account_email, safe='@')}"
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}"


def grouped(secret: str) -> str:
    """The secret in groups of four, for people who type it instead of scanning."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
