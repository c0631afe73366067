"""RFC 6238 / RFC 4226 vectors, the drift window and replay rule of the code matcher."""

import base64

import pytest

from shared_apps.two_factor import totp

# RFC 6238 appendix B, SHA-1 key: the ASCII bytes "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()

# (Unix time, 8-digit TOTP from the RFC): 6 digits are the last six (mod 10^6).
RFC_6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]

# RFC 4226 appendix D: HOTP of the same key for counters 0..9, 6 digits.
RFC_4226 = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip


@pytest.mark.parametrize(("at", "eight_digits"), RFC_6238_SHA1)
def test_rfc_6238_vectors_at_six_digits(at, eight_digits):
    assert totp.code_at(RFC_SECRET, at) == eight_digits[-6:]
    # The truncation itself is the RFC's: the 8-digit variant matches in full.
    step = totp.time_step(at)
    assert totp.hotp(b"12345678901234567890", step, digits=8) == eight_digits


@pytest.mark.parametrize(("counter", "expected"), enumerate(RFC_4226))
def test_rfc_4226_hotp_vectors(counter, expected):
    assert totp.hotp(b"12345678901234567890", counter) == expected


def test_time_steps_are_30_seconds_from_the_epoch():
    assert totp.time_step(0) == 0
    assert totp.time_step(29.999) == 0
    assert totp.time_step(30) == 1
    assert totp.time_step(59) == 1


def test_codes_one_step_either_side_are_accepted_and_no_further():
    at = 1111111111.0
    now = totp.time_step(at)
    for offset in (-1, 0, 1):
        code = totp.code_at_step(RFC_SECRET, now + offset)
        assert totp.matching_step(RFC_SECRET, code, after_step=0, at=at) == now + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_at_step(RFC_SECRET, now + offset)
        assert totp.matching_step(RFC_SECRET, code, after_step=0, at=at) is None


def test_a_code_of_a_step_already_used_or_older_never_matches():
    at = 1111111111.0
    now = totp.time_step(at)
    current = totp.code_at_step(RFC_SECRET, now)
    previous = totp.code_at_step(RFC_SECRET, now - 1)
    assert totp.matching_step(RFC_SECRET, current, after_step=now, at=at) is None
    assert totp.matching_step(RFC_SECRET, previous, after_step=now, at=at) is None
    assert totp.matching_step(RFC_SECRET, current, after_step=now - 1, at=at) == now


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 345", "١٢٣٤٥٦", "-12345"])
def test_malformed_codes_never_match(code):
    assert totp.matching_step(RFC_SECRET, code, after_step=0) is None
    assert not totp.is_well_formed(code)


def test_new_secrets_are_160_bit_base32_and_different():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second
    assert len(first) == 32
    assert len(base64.b32decode(first)) == 20


def test_provisioning_uri_is_the_key_uri_format():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "pat@clinic-a.example")
    assert uri == (
        "otpauth://totp/DR.%20CRM:pat@clinic-a.example?secret=JBSWY3DPEHPK3PXP&issuer=DR.%20CRM"
    )


def test_an_email_cannot_inject_uri_parameters():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "a?secret=EVIL&x=@example.com")
    assert uri.count("?") == 1
    assert "secret=EVIL" not in uri


def test_the_secret_is_shown_in_groups_of_four():
    assert totp.grouped("JBSWY3DPEHPK3PXP") == "JBSW Y3DP EHPK 3PXP"
