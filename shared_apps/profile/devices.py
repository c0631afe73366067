"""A friendly name for the device behind a User-Agent string ("Firefox on Windows").

Deliberately a handful of substring rules, not a parser library: the summary only has to
help people recognise their own devices on the sessions page, and the raw string is kept
for the rare case it guesses wrong.
"""

from __future__ import annotations

# First match wins, so the more specific tokens come first: Edge, Opera and Samsung
# Internet also say "Chrome/", and every Chromium-based browser also says "Safari/".
_BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
# iPhones and iPads say "like Mac OS X", Android says "Linux": they come first.
_SYSTEMS: tuple[tuple[str, str], ...] = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
UNKNOWN_DEVICE = "Unknown device"


def _first_match(user_agent: str, rules: tuple[tuple[str, str], ...]) -> str:
    return next((name for token, name in rules if token in user_agent), "")


def device_summary(user_agent: str) -> str:
    browser = _first_match(user_agent, _BROWSERS)
    system = _first_match(user_agent, _SYSTEMS)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or UNKNOWN_DEVICE
