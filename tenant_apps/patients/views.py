"""Patient pages: parse input, call one selector or service, render."""

from __future__ import annotations
