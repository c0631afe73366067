"""The waitlist: patients who would take an earlier slot, and the freed slots offered to them.

When an appointment is cancelled or marked a no-show, a lifecycle listener (inside the same
transaction) makes one WaitlistOffer per matching waiting entry, best first: entries naming
this practitioner and type before "any", then whoever has waited longest. An entry matches
when its practitioner and type are this slot's (or unset), the slot's local weekday and
times fall in its preferences, the slot is earlier than the patient's current appointment
(if they hold one) and the patient's record is active.

The front desk sees open offers (`open_waitlist_offers`: still in the future and still free)
and books one: the patient gets the freed slot through `appointment_book`, the offer is
accepted and the entry booked. Decision: their later appointment (the entry's
`current_appointment`) is cancelled in the same step unless the front desk unticks it
(`cancel_current`, default on): they waited for an earlier slot, so the later one is
normally released, which in turn offers it to the next patient waiting.

Merging two patients moves their appointments and waitlist entries to the survivor (the
movers at the end register with patients' `@merge_mover`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from drcrm.lookup import get_or_404
from shared_apps.accounts.models import User
from tenant_apps.audit.services import audit_record
from tenant_apps.patients.merge import merge_mover
from tenant_apps.patients.models import Patient
from tenant_apps.scheduling.clock import clinic_zone
from tenant_apps.scheduling.models import (
    FREED_STATUSES,
    Appointment,
    AppointmentType,
    Practitioner,
    WaitlistEntry,
    WaitlistOffer,
)
from tenant_apps.scheduling.services import (
    BookingRequest,
    appointment_book,
    appointment_cancel,
    on_appointment_event,
)

MOVED_EARLIER_REASON = "Moved to an earlier slot from the waitlist"
NOTE_LIMIT = 200


# --- entries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitlistEntryInput:
    patient: Patient
    practitioner: Practitioner | None = None
    appointment_type: AppointmentType | None = None
    preferred_weekdays: tuple[int, ...] = ()  # 0 = Monday; empty = any day
    preferred_from: dt.time | None = None  # local times; None = from opening
    preferred_until: dt.time | None = None
    current_appointment: Appointment | None = None
    note: str = ""


def _entry_errors(data: WaitlistEntryInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.patient.is_archived:
        errors["patient"] = "This patient's record is archived; restore it first."
    if data.practitioner is not None and not data.practitioner.is_active:
        errors["practitioner"] = "This practitioner no longer takes bookings."
    if data.appointment_type is not None and not data.appointment_type.is_active:
        errors["appointment_type"] = "This appointment type is no longer offered."
    elif (
        data.practitioner is not None
        and data.appointment_type is not None
        and not data.practitioner.appointment_types.filter(pk=data.appointment_type.pk).exists()
    ):
        errors["appointment_type"] = (
            f"{data.practitioner.display_name} does not offer {data.appointment_type.name}."
        )
    if any(day not in range(7) for day in data.preferred_weekdays):
        errors["preferred_weekdays"] = "Weekdays are 0 (Monday) to 6 (Sunday)."
    if (
        data.preferred_from is not None
        and data.preferred_until is not None
        and data.preferred_until <= data.preferred_from
    ):
        errors["preferred_until"] = "The end of the window must be after its start."
    current = data.current_appointment
    if current is not None and (current.patient_id != data.patient.pk or not current.is_live):
        errors["current_appointment"] = "Choose one of this patient's booked appointments."
    if len(data.note) > NOTE_LIMIT or "\x00" in data.note:
        errors["note"] = f"Keep the note under {NOTE_LIMIT} characters."
    return errors


def _check_entry(data: WaitlistEntryInput, *, exclude_id: int | None = None) -> None:
    errors = _entry_errors(data)
    same = WaitlistEntry.objects.filter(
        patient=data.patient,
        status=WaitlistEntry.Status.WAITING,
        practitioner=data.practitioner,
        appointment_type=data.appointment_type,
    )
    if exclude_id is not None:
        same = same.exclude(pk=exclude_id)
    if "patient" not in errors and same.exists():
        errors["patient"] = "This patient is already waiting for this practitioner and type."
    if errors:
        raise ValidationError(errors, code="invalid")


def _apply(entry: WaitlistEntry, data: WaitlistEntryInput) -> None:
    entry.patient = data.patient
    entry.practitioner = data.practitioner
    entry.appointment_type = data.appointment_type
    entry.preferred_weekdays = sorted(set(data.preferred_weekdays))
    entry.preferred_from = data.preferred_from
    entry.preferred_until = data.preferred_until
    entry.current_appointment = data.current_appointment
    entry.note = data.note.strip()


def waitlist_entry_add(*, actor: User | None, data: WaitlistEntryInput) -> WaitlistEntry:
    _check_entry(data)
    with transaction.atomic():
        entry = WaitlistEntry(created_by_id=getattr(actor, "pk", None))
        _apply(entry, data)
        entry.save()
        audit_record(
            actor=actor,
            action="waitlist_entry.added",
            target=entry,
            details={"patient_id": data.patient.pk},
        )
    return entry


def waitlist_entry_update(
    *, actor: User | None, entry: WaitlistEntry, data: WaitlistEntryInput
) -> WaitlistEntry:
    if entry.status != WaitlistEntry.Status.WAITING:
        raise ValidationError(
            {"status": "Only a waiting entry can be changed."}, code="not_waiting"
        )
    if data.patient.pk != entry.patient_id:
        raise ValidationError({"patient": "An entry stays with its patient."}, code="invalid")
    _check_entry(data, exclude_id=entry.pk)
    with transaction.atomic():
        _apply(entry, data)
        entry.save()
        audit_record(actor=actor, action="waitlist_entry.updated", target=entry)
    return entry


def waitlist_entry_remove(*, actor: User | None, entry: WaitlistEntry) -> WaitlistEntry:
    """Take the patient off the waitlist; their open offers go with it."""
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status != WaitlistEntry.Status.WAITING:
            raise ValidationError(
                {"status": "This entry is no longer waiting."}, code="not_waiting"
            )
        entry.status = WaitlistEntry.Status.REMOVED
        entry.save(update_fields=["status"])
        entry.offers.filter(status=WaitlistOffer.Status.OPEN).update(
            status=WaitlistOffer.Status.DISMISSED
        )
        audit_record(actor=actor, action="waitlist_entry.removed", target=entry)
    return entry


# --- offers when a slot is freed -----------------------------------------------------------------


def _in_window(entry: WaitlistEntry, starts: dt.datetime, ends: dt.datetime) -> bool:
    """Whether the slot's local weekday and times suit the entry's preferences."""
    zone = clinic_zone()
    local_start, local_end = starts.astimezone(zone), ends.astimezone(zone)
    if entry.preferred_weekdays and local_start.weekday() not in entry.preferred_weekdays:
        return False
    if entry.preferred_from is not None and local_start.time() < entry.preferred_from:
        return False
    if entry.preferred_until is None:
        return True
    # A slot running past local midnight ends "after" any window of that day.
    return local_end.date() == local_start.date() and local_end.time() <= entry.preferred_until


def _earlier_than_current(entry: WaitlistEntry, starts: dt.datetime) -> bool:
    current = entry.current_appointment
    if current is None or not current.is_live:
        return True
    return starts < current.starts_at


def _rank(entry: WaitlistEntry) -> tuple[bool, bool, dt.datetime, int]:
    # Asked for this practitioner / type by name before "anyone", then longest waiting.
    return (
        entry.practitioner_id is None,
        entry.appointment_type_id is None,
        entry.created_at,
        entry.pk,
    )


def waitlist_matches(*, freed: Appointment) -> list[WaitlistEntry]:
    """The waiting entries this freed slot suits, best first."""
    candidates = (
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING, patient__is_archived=False
        )
        .exclude(patient_id=freed.patient_id)
        .filter(Q(practitioner__isnull=True) | Q(practitioner_id=freed.practitioner_id))
        .filter(Q(appointment_type__isnull=True) | Q(appointment_type_id=freed.appointment_type_id))
        .select_related("current_appointment")
    )
    found = [
        entry
        for entry in candidates
        if _in_window(entry, freed.starts_at, freed.ends_at)
        and _earlier_than_current(entry, freed.starts_at)
    ]
    return sorted(found, key=_rank)


def waitlist_offers_create(*, freed: Appointment) -> list[WaitlistOffer]:
    """Offer a freed slot (in the future) to every matching entry; system work, audited."""
    if freed.starts_at <= timezone.now():
        return []
    entries = waitlist_matches(freed=freed)
    if not entries:
        return []
    with transaction.atomic():
        # One by one, in rank order, so ids keep the order (a slot freed twice, as a
        # no-show that turned up and then left, is offered once).
        offers = [
            WaitlistOffer.objects.get_or_create(entry=entry, freed_appointment=freed)[0]
            for entry in entries
        ]
        audit_record(
            actor=None,
            action="waitlist_offers.created",
            target=freed,
            details={"offers": len(offers), "entry_ids": [entry.pk for entry in entries]},
        )
    return offers


@on_appointment_event
def _offer_freed_slot(event: str, appointment: Appointment, details: dict[str, Any]) -> None:
    freed = event == "cancelled" or (
        event == "status_changed" and appointment.status == Appointment.Status.NO_SHOW
    )
    if freed:
        waitlist_offers_create(freed=appointment)


def _open_offer(offer: WaitlistOffer) -> WaitlistOffer:
    offer = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related(
            "entry__patient",
            "entry__current_appointment",
            "freed_appointment__practitioner",
            "freed_appointment__appointment_type",
        )
        .get(pk=offer.pk)
    )
    if offer.status != WaitlistOffer.Status.OPEN:
        raise ValidationError(
            {"offer": "This offer was already booked or dismissed."}, code="not_open"
        )
    if offer.entry.status != WaitlistEntry.Status.WAITING:
        raise ValidationError({"offer": "The patient is no longer waiting."}, code="not_waiting")
    if offer.freed_appointment.starts_at <= timezone.now():
        raise ValidationError({"offer": "This slot has already passed."}, code="passed")
    return offer


def waitlist_offer_accept(
    *, actor: User | None, offer: WaitlistOffer, cancel_current: bool = True
) -> Appointment:
    """Book the entry's patient into the freed slot (the database still decides whether it
    is free: AppointmentConflict if someone took it meanwhile, and nothing changes)."""
    with transaction.atomic():
        offer = _open_offer(offer)
        entry, freed = offer.entry, offer.freed_appointment
        appointment = appointment_book(
            actor=actor,
            booking=BookingRequest(
                patient=entry.patient,
                practitioner=freed.practitioner,
                appointment_type=freed.appointment_type,
                starts_at=freed.starts_at,
                ends_at=freed.ends_at,
                allow_outside_hours=freed.outside_hours,
            ),
        )
        offer.status = WaitlistOffer.Status.ACCEPTED
        offer.save(update_fields=["status"])
        entry.status = WaitlistEntry.Status.BOOKED
        entry.save(update_fields=["status"])
        # The slot is taken and the patient booked: nothing else of either stays open.
        WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN).filter(
            freed_appointment=freed
        ).update(status=WaitlistOffer.Status.DISMISSED)
        entry.offers.filter(status=WaitlistOffer.Status.OPEN).update(
            status=WaitlistOffer.Status.DISMISSED
        )
        current = entry.current_appointment
        cancelled = None
        if cancel_current and current is not None and current.is_live:
            cancelled = appointment_cancel(
                actor=actor, appointment=current, reason=MOVED_EARLIER_REASON
            )
        audit_record(
            actor=actor,
            action="waitlist_offer.accepted",
            target=offer,
            details={
                "appointment_id": appointment.pk,
                "entry_id": entry.pk,
                "cancelled_appointment_id": cancelled.pk if cancelled else None,
            },
        )
    return appointment


def waitlist_offer_dismiss(*, actor: User | None, offer: WaitlistOffer) -> WaitlistOffer:
    with transaction.atomic():
        offer = WaitlistOffer.objects.select_for_update().get(pk=offer.pk)
        if offer.status != WaitlistOffer.Status.OPEN:
            raise ValidationError(
                {"offer": "This offer was already booked or dismissed."}, code="not_open"
            )
        offer.status = WaitlistOffer.Status.DISMISSED
        offer.save(update_fields=["status"])
        audit_record(actor=actor, action="waitlist_offer.dismissed", target=offer)
    return offer


# --- reads ---------------------------------------------------------------------------------------


def waitlist_entries(*, statuses: Iterable[str] = ("waiting",)) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(status__in=list(statuses))
        .select_related(
            "patient",
            "practitioner",
            "appointment_type",
            "current_appointment__patient",
            "current_appointment__practitioner",
            "current_appointment__appointment_type",
            "current_appointment__room",
        )
        .order_by("created_at", "id")
    )


def get_waitlist_entry_for(*, entry_id: object) -> WaitlistEntry:
    entry: WaitlistEntry = get_or_404(
        waitlist_entries(statuses=WaitlistEntry.Status.values), entry_id, "waitlist entry"
    )
    return entry


# What an offer's page row and API answer show, in one query.
OFFER_RELATED = (
    "entry__patient",
    "entry__practitioner",
    "entry__appointment_type",
    "entry__current_appointment__patient",
    "entry__current_appointment__practitioner",
    "entry__current_appointment__appointment_type",
    "entry__current_appointment__room",
    "freed_appointment__patient",
    "freed_appointment__practitioner",
    "freed_appointment__appointment_type",
    "freed_appointment__room",
)


def open_waitlist_offers() -> QuerySet[WaitlistOffer]:
    """Offers the front desk can still act on: open, the patient still waiting, the slot
    still in the future and not taken by another live booking since. Soonest slot first,
    then best match."""
    taken = Appointment.objects.exclude(status__in=FREED_STATUSES).filter(
        is_overbooked=False,
        practitioner_id=OuterRef("freed_appointment__practitioner_id"),
        occupied__overlap=OuterRef("freed_appointment__occupied"),
    )
    return (
        WaitlistOffer.objects.filter(
            status=WaitlistOffer.Status.OPEN,
            entry__status=WaitlistEntry.Status.WAITING,
            freed_appointment__during__startswith__gt=timezone.now(),
        )
        # A no-show who turned up after all has the slot back.
        .filter(freed_appointment__status__in=FREED_STATUSES)
        .filter(~Exists(taken))
        .select_related(*OFFER_RELATED)
        .order_by("freed_appointment__during", "id")
    )


def get_waitlist_offer_for(*, offer_id: object) -> WaitlistOffer:
    offer: WaitlistOffer = get_or_404(
        WaitlistOffer.objects.select_related(*OFFER_RELATED), offer_id, "waitlist offer"
    )
    return offer


# --- merging two patients ------------------------------------------------------------------------


@merge_mover("appointments")
def _move_appointments(survivor: Patient, merged: Patient) -> int:
    return Appointment.objects.filter(patient=merged).update(patient=survivor)


@merge_mover("waitlist_entries")
def _move_waitlist_entries(survivor: Patient, merged: Patient) -> int:
    return WaitlistEntry.objects.filter(patient=merged).update(patient=survivor)
