"""The clinic's wall clock: local dates and times in its zone, and their UTC instants.

Appointments are stored in UTC; people type and read local times. Two local times need
care at daylight-saving changes: one that never happens (the skipped hour in spring) is
refused with a field error, and one that happens twice (autumn) means the first.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.core.exceptions import ValidationError

from drcrm.tenancy import current_clinic


def clinic_zone() -> zoneinfo.ZoneInfo:
    clinic = current_clinic()
    return zoneinfo.ZoneInfo(getattr(clinic, "time_zone", None) or "UTC")


def local_datetime(
    day: dt.date, at: dt.time, *, zone: zoneinfo.ZoneInfo, field: str = "starts_at"
) -> dt.datetime:
    """`day` at `at` on the clinic's clock, as an aware datetime; a skipped time is an error."""
    candidate = dt.datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)
    if not exists_locally(candidate):
        raise ValidationError(
            {
                field: (
                    f"{candidate:%H:%M} on {day:%d %b %Y} does not exist in {zone.key}: "
                    "the clocks go forward then. Choose a time outside the skipped hour."
                )
            },
            code="nonexistent_time",
        )
    return candidate


def exists_locally(moment: dt.datetime) -> bool:
    """Whether an aware local time survives a round trip through UTC unchanged."""
    zone = moment.tzinfo
    if zone is None:
        raise ValueError("exists_locally needs an aware datetime")
    round_trip = moment.astimezone(dt.UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def day_bounds(day: dt.date, *, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants a local day starts and ends (23 or 25 hours apart on DST days), in UTC.

    In UTC because Python subtracts and adds two times of one zone on the wall clock:
    midnight to midnight in London would come out as 24 hours on both DST days.
    """
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def as_local(moment: dt.datetime, *, zone: zoneinfo.ZoneInfo | None = None) -> dt.datetime:
    return moment.astimezone(zone or clinic_zone())
