"""Merging a duplicate patient record into the one that stays (the survivor).

Everything that belongs to the merged record moves to the survivor through `MERGE_MOVERS`,
a registry of small functions, one per kind of related row. Apps that add rows pointing at
a patient (appointments, notes, invoices, documents) register their own mover with
`@merge_mover("appointments")`, so a merge never leaves anything behind on the old record.

Decisions:
- The survivor's details stay. A detail the survivor lacks (empty) is taken from the merged
  record, and allergies, medical alerts and front-desk notes are combined (an alert must
  never be lost by merging). The merge page shows both records side by side first, so
  anything else is edited on the survivor afterwards.
- Consent: per channel the survivor keeps its own answer unless it has none, except that an
  opt-out on either side wins (the safer answer). The merged record's consent history moves
  to the survivor, so the proof of every answer stays with the patient.
- The merged record is archived with `merged_into` set; it is never deleted (PatientMerge
  and the audit trail point at it).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from tenant_apps.audit.services import audit_record
from tenant_apps.patients.models import ConsentEvent, Patient, PatientConsent, PatientMerge
from tenant_apps.patients.services import INPUT_FIELDS, digits_of, search_normalise

Mover = Callable[[Patient, Patient], int]

# (kind, mover): each moves one kind of row from `merged` to `survivor` and says how many.
MERGE_MOVERS: list[tuple[str, Mover]] = []

# Clinical/safety text: both sides are kept, one after the other.
COMBINED_FIELDS = ("allergies", "medical_alerts", "front_desk_notes")


def merge_mover(kind: str) -> Callable[[Mover], Mover]:
    """Register `mover` for `kind` (called inside the merge's transaction, rows locked)."""

    def register(mover: Mover) -> Mover:
        MERGE_MOVERS.append((kind, mover))
        return mover

    return register


# --- what the merge does to the survivor's own fields ----------------------------------------


def _is_empty(name: str, value: object) -> bool:
    if name == "sex":
        return value in ("", Patient.Sex.UNKNOWN)
    return value in (None, "")


def merged_details(survivor: Patient, merged: Patient) -> dict[str, object]:
    """The field values the survivor gets from `merged` (the merge page previews these)."""
    changes: dict[str, object] = {}
    for name in INPUT_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(merged, name)
        if _is_empty(name, theirs):
            continue
        if _is_empty(name, mine):
            changes[name] = theirs
        elif name in COMBINED_FIELDS and str(theirs).strip() not in str(mine):
            changes[name] = f"{mine}\n{theirs}"
    return changes


def _apply_details(survivor: Patient, changes: dict[str, object]) -> None:
    for name, value in changes.items():
        setattr(survivor, name, value)
    survivor.phone_digits = digits_of(survivor.phone)
    survivor.phone_alt_digits = digits_of(survivor.phone_alt)
    survivor.search_text = search_normalise(
        " ".join([survivor.first_name, survivor.preferred_name, survivor.last_name])
    )
    survivor.save()


# --- movers of the patients app itself --------------------------------------------------------


@merge_mover("consents")
def _move_consents(survivor: Patient, merged: Patient) -> int:
    """Current answers: the survivor's stand unless it has none; an opt-out always wins."""
    own = {
        c.channel: c for c in PatientConsent.objects.select_for_update().filter(patient=survivor)
    }
    changed = 0
    for theirs in PatientConsent.objects.select_for_update().filter(patient=merged):
        mine = own.get(theirs.channel)
        if mine is None:
            theirs.patient = survivor
            theirs.save(update_fields=["patient"])
            changed += 1
            continue
        if mine.opted_in and not theirs.opted_in:
            mine.opted_in = False
            mine.method = theirs.method
            mine.recorded_at = theirs.recorded_at
            mine.recorded_by_id = theirs.recorded_by_id
            mine.save(update_fields=["opted_in", "method", "recorded_at", "recorded_by_id"])
            changed += 1
        theirs.delete()  # its history moves with the events below
    return changed


@merge_mover("consent_events")
def _move_consent_events(survivor: Patient, merged: Patient) -> int:
    return ConsentEvent.objects.filter(patient=merged).update(patient=survivor)


# --- the service ------------------------------------------------------------------------------


def _refusals(survivor: Patient, merged: Patient) -> dict[str, list[str]]:
    if survivor.pk == merged.pk:
        return {"merged": ["A record cannot be merged into itself."]}
    errors: dict[str, list[str]] = {}
    if survivor.merged_into_id is not None:
        errors["survivor"] = ["This record was already merged into another one."]
    elif survivor.is_archived:
        errors["survivor"] = ["Restore this archived record before merging into it."]
    if merged.merged_into_id is not None:
        errors["merged"] = ["This record was already merged into another one."]
    return errors


def patient_merge(*, actor: User | None, survivor: Patient, merged: Patient) -> PatientMerge:
    """Fold `merged` into `survivor` in one transaction; raises ValidationError (field map)."""
    if survivor.pk == merged.pk:
        raise ValidationError(_refusals(survivor, merged))
    with transaction.atomic():
        # Both rows locked in id order, so two merges of the same pair cannot deadlock.
        locked = {
            p.pk: p
            for p in Patient.objects.select_for_update()
            .filter(pk__in=[survivor.pk, merged.pk])
            .order_by("pk")
        }
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        errors = _refusals(survivor, merged)
        if errors:
            raise ValidationError(errors)
        details = merged_details(survivor, merged)
        moved = {"details": len(details)}
        for kind, mover in MERGE_MOVERS:
            moved[kind] = moved.get(kind, 0) + mover(survivor, merged)
        _apply_details(survivor, details)
        merged.is_archived = True
        merged.archived_at = merged.archived_at or timezone.now()
        merged.merged_into = survivor
        merged.save(update_fields=["is_archived", "archived_at", "merged_into", "updated_at"])
        merge = PatientMerge.objects.create(
            survivor=survivor, merged=merged, moved=moved, merged_by_id=getattr(actor, "pk", None)
        )
        audit_record(
            actor=actor,
            action="patient.merged",
            target=survivor,
            details={"survivor": survivor.pk, "merged": merged.pk, "merge": merge.pk, **moved},
        )
    return merge
