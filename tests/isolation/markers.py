"""Marker text for isolation tests: seed A and B identically (ids collide), each row
carrying its clinic's marker, then assert B's marker never reaches anything served to A."""

from __future__ import annotations

from typing import Any


def marker(clinic: Any, label: str = "") -> str:
    """`MARK-<subdomain>-<label>`: unique per clinic, easy to grep for in any output."""
    return f"MARK-{clinic.subdomain}-{label}" if label else f"MARK-{clinic.subdomain}"


def assert_no_marker(content: bytes | str, forbidden: str) -> None:
    text = content.decode() if isinstance(content, bytes) else content
    assert forbidden not in text, f"{forbidden!r} leaked into a response for another clinic"
