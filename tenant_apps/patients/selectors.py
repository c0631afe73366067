"""Reads of patient records that views and the API share."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.postgres.search import TrigramSimilarity
from django.core.exceptions import ValidationError
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.db.models.functions import Reverse
from django.db.models.lookups import StartsWith

from drcrm.lookup import get_or_404
from drcrm.tenancy import current_clinic
from shared_apps.accounts.models import User
from tenant_apps.patients.models import (
    Channel,
    ConsentEvent,
    ConsentMethod,
    Patient,
    PatientConsent,
)
from tenant_apps.patients.services import PatientInput, digits_of, phone_to_e164, search_normalise


def get_patient_for(*, patient_id: object) -> Patient:
    """The patient with this id in the current clinic, or Http404 (the same for junk ids,
    missing ones and, since every clinic has its own schema, another clinic's)."""
    return get_or_404(Patient.objects.all(), patient_id, "patient")


# --- search (search helper) ------------------------------------------------------------------


MAX_QUERY_LENGTH = 100
MAX_PAGE_SIZE = 200
# The query's kinds of match, best first: what was typed exactly (a number, a phone, an
# email) beats a birth date or a partial phone, which beat a name fragment.
RANK_EXACT, RANK_DATE, RANK_NAME = 0, 1, 2
MIN_PHONE_DIGITS = 6
_NUMBER = re.compile(r"(?:p\s*-?\s*)?(\d{1,9})", re.IGNORECASE)
_PHONE = re.compile(r"[\d\s+().\-/]+")
_ISO_DATE = "%Y-%m-%d"
# Day first everywhere but where month-first is the custom.
_MONTH_FIRST_COUNTRIES = {"US", "PH", "FM", "MH", "PW"}
ORDERINGS: dict[str, tuple[str | OrderBy, ...]] = {
    "name": ("last_name", "first_name", "sequence"),
    "-name": ("-last_name", "-first_name", "-sequence"),
    "number": ("sequence",),
    "-number": ("-sequence",),
    "dob": (F("date_of_birth").asc(nulls_last=True), "sequence"),
    "-dob": (F("date_of_birth").desc(nulls_last=True), "-sequence"),
    "created": ("created_at", "sequence"),
    "-created": ("-created_at", "-sequence"),
}


def search_query_clean(query: str) -> str:
    """What is searched for: printable text, at most MAX_QUERY_LENGTH characters."""
    printable = "".join(ch if ch.isprintable() else " " for ch in query)
    return " ".join(printable.split())[:MAX_QUERY_LENGTH]


def month_first(country: str) -> bool:
    """Whether people in `country` write 03/04/1985 for 4 March (else for 3 April)."""
    return country.upper() in _MONTH_FIRST_COUNTRIES


def date_formats(country: str) -> tuple[str, ...]:
    """The strptime formats of a typed date in `country`: ISO, then its usual order."""
    day_month = ("%m/%d/%Y", "%m.%d.%Y", "%m-%d-%Y")
    if not month_first(country):
        day_month = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
    return (_ISO_DATE, *day_month)


def _as_date(text: str, *, country: str) -> dt.date | None:
    for fmt in date_formats(country):
        try:
            # A calendar date, not a moment: no time zone applies.
            found = dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007
        except ValueError:
            continue
        if found.year >= 1900:
            return found
    return None


def _phone_match(text: str, *, country: str) -> tuple[Q, Q] | None:
    """(exact, partial) conditions for a query that looks like a phone number, else None.

    Exact: the E.164 digits of what was typed ("07911 123456" and "+44 7911 123456" both
    give 447911123456). Partial: stored numbers ending with the digits typed, without a
    trunk "0" ("123456", or a number that does not parse in the clinic's country).
    """
    digits = digits_of(text)
    if not _PHONE.fullmatch(text) or len(digits) < MIN_PHONE_DIGITS:
        return None
    exact_digits = {digits}
    with contextlib.suppress(ValidationError):
        exact_digits.add(digits_of(phone_to_e164(text, region=country)))
    exact = Q(phone_digits__in=exact_digits) | Q(phone_alt_digits__in=exact_digits)
    # Reversed, "ends with" becomes "starts with": a prefix scan of the reversed index.
    reversed_tail = digits.lstrip("0")[::-1]
    partial = Q(StartsWith(Reverse("phone_digits"), Value(reversed_tail))) | Q(
        StartsWith(Reverse("phone_alt_digits"), Value(reversed_tail))
    )
    return exact, partial


def _name_match(normalised: str) -> Q | None:
    """Every word typed appears in the names (the trigram index answers LIKE '%word%')."""
    if not any(ch.isalpha() for ch in normalised):
        return None
    match = Q()
    for word in dict.fromkeys(normalised.split()):
        match &= Q(search_text__contains=word)
    return match


def patients_matching(
    *, query: str = "", include_archived: bool = False, ordering: str = ""
) -> QuerySet[Patient]:
    """All patients matching `query`, best match first (or in `ordering`, one of ORDERINGS).

    One box, many kinds of match: patient number ("P-000123", "123"), phone in any format,
    email (exact, any case), date of birth (ISO or the clinic's usual d/m/Y), and name
    fragments (accents and case ignored; every word must match). Records merged into
    another are never found; archived ones only when asked for. Every kind of match has
    an index (trigram for names and phone endings, upper(email), birth date, sequence),
    so the OR of them stays a bitmap of index scans at any size.
    """
    if ordering and ordering not in ORDERINGS:
        raise ValidationError({"ordering": [f"Use one of: {', '.join(ORDERINGS)}."]})
    text = search_query_clean(query)
    rows = Patient.objects.filter(merged_into__isnull=True)
    if not include_archived:
        rows = rows.filter(is_archived=False)
    if not text:
        return rows.order_by(*ORDERINGS[ordering or "name"])

    country = str(getattr(current_clinic(), "country", "") or "")
    exact = Q(pk__in=[])
    near = Q(pk__in=[])
    number = _NUMBER.fullmatch(text)
    if number and int(number.group(1)) > 0:
        exact |= Q(sequence=int(number.group(1)))
    if "@" in text and " " not in text:
        exact |= Q(email__iexact=text)
    birth = _as_date(text, country=country)
    if birth is not None:
        near |= Q(date_of_birth=birth)
    # "12/03/1980" is all digits and slashes too, but a date is not a phone.
    phone = _phone_match(text, country=country) if birth is None else None
    if phone is not None:
        exact |= phone[0]
        near |= phone[1]
    normalised = search_normalise(text)
    # A number or an email typed whole is not also a name fragment ("p-000123").
    name = None if number or "@" in text else _name_match(normalised)

    rows = rows.filter(exact | near | (name if name is not None else Q(pk__in=[])))
    if ordering:
        return rows.order_by(*ORDERINGS[ordering])
    order: list[str] = []
    kinds = [kind for kind in (exact, near, name) if kind is not None and kind != Q(pk__in=[])]
    if len(kinds) > 1:  # only a query that can match in several ways needs ranking
        rows = rows.annotate(
            search_rank=Case(
                When(exact, then=Value(RANK_EXACT)),
                When(near, then=Value(RANK_DATE)),
                default=Value(RANK_NAME),
                output_field=IntegerField(),
            )
        )
        order.append("search_rank")
    if name is not None:
        rows = rows.annotate(search_similarity=TrigramSimilarity("search_text", normalised))
        order.append("-search_similarity")
    return rows.order_by(*order, "last_name", "first_name", "sequence")


def patients_search(
    *,
    query: str = "",
    include_archived: bool = False,
    ordering: str = "",
    limit: int = 50,
    offset: int = 0,
    columns: tuple[str, ...] = (),
) -> tuple[list[Patient], int]:
    """One page of patients matching `query`, and how many match in all.

    At most two queries (the page, then the count unless this is the last page), whatever
    the page size. `columns`: read only these (and the id), for a caller that shows only
    them; touching another field of a row would then cost a query of its own.
    """
    errors = {}
    if not 0 < limit <= MAX_PAGE_SIZE:
        errors["limit"] = [f"Use a page size from 1 to {MAX_PAGE_SIZE}."]
    if offset < 0:
        errors["offset"] = ["Use an offset of 0 or more."]
    if errors:
        raise ValidationError(errors)
    rows = patients_matching(query=query, include_archived=include_archived, ordering=ordering)
    if columns:
        rows = rows.only(*columns)
    page = list(rows[offset : offset + limit])
    if page and len(page) < limit:
        return page, offset + len(page)  # the last page: the count is known already
    # The count needs neither the ranking nor the order.
    return page, rows.order_by().values("pk").count()


DUPLICATES_LIMIT = 20


def _phone_digits_of(data: PatientInput) -> set[str]:
    """The E.164 digits of the phones typed (those that do not parse cannot match)."""
    region = str(getattr(current_clinic(), "country", "") or "")
    found = set()
    for raw in (data.phone, data.phone_alt):
        if not raw or "\x00" in raw or len(raw) > 50:
            continue
        try:
            found.add(digits_of(phone_to_e164(raw, region=region)))
        except ValidationError:
            continue
    return found


def duplicates_of(*, data: PatientInput, exclude_id: int | None = None) -> list[Patient]:
    """Patients this input probably describes again: same phone, or same name and birth date.

    Phones compare by their E.164 digits (main or alternative number, either side); names
    compare case- and accent-insensitively ("Zoë" = "zoe"), on first and last name only.
    Archived records count too (a returning patient should be restored, not re-created);
    records merged into another one do not (the survivor is what to open).
    """
    phones = _phone_digits_of(data)
    first = search_normalise(data.first_name or "")
    last = search_normalise(data.last_name or "")
    match = Q(pk__in=[])
    if phones:
        match |= Q(phone_digits__in=phones) | Q(phone_alt_digits__in=phones)
    if first and last and data.date_of_birth is not None:
        # The birth date (indexed) narrows to a handful; names are compared below in Python
        # with the same normalising the search index uses.
        match |= Q(date_of_birth=data.date_of_birth, search_text__contains=last)
    candidates = Patient.objects.filter(match, merged_into__isnull=True)
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    found = []
    for patient in candidates.order_by("sequence")[: DUPLICATES_LIMIT * 5]:
        same_phone = bool(phones & {patient.phone_digits, patient.phone_alt_digits} - {""})
        same_person = (
            data.date_of_birth is not None
            and patient.date_of_birth == data.date_of_birth
            and search_normalise(patient.first_name) == first
            and search_normalise(patient.last_name) == last
        )
        if same_phone or same_person:
            found.append(patient)
        if len(found) == DUPLICATES_LIMIT:
            break
    return found


# --- the API's filtered list (API helper) ----------------------------------------------------

# The API's ordering names, and the search's names for them.
LIST_ORDERINGS = {
    "last_name": "name",
    "-last_name": "-name",
    "created_at": "created",
    "-created_at": "-created",
    "number": "number",
    "-number": "-number",
    "date_of_birth": "dob",
    "-date_of_birth": "-dob",
}


def patients_filtered(
    *,
    query: str = "",
    archived: bool | None = False,
    has_alerts: bool | None = None,
    date_of_birth: dt.date | None = None,
    sex: str = "",
    ordering: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Patient], int]:
    """One page of the search's matches narrowed by exact filters, and how many in all.

    `archived`: False active records only, True archived only, None both. `ordering` is
    one of LIST_ORDERINGS (default: best match first with a query, else by name). Two
    queries whatever the page size, as `patients_search`.
    """
    rows = patients_matching(
        query=query,
        include_archived=archived is not False,
        ordering=LIST_ORDERINGS[ordering] if ordering else "",
    )
    if archived is True:
        rows = rows.filter(is_archived=True)
    if has_alerts is not None:
        alerts = ~Q(allergies__regex=r"^\s*$") | ~Q(medical_alerts__regex=r"^\s*$")
        rows = rows.filter(alerts) if has_alerts else rows.exclude(alerts)
    if date_of_birth is not None:
        rows = rows.filter(date_of_birth=date_of_birth)
    if sex:
        rows = rows.filter(sex=sex)
    page = list(rows[offset : offset + limit])
    return page, rows.order_by().values("pk").count()


def consents_of(*, patient: Patient) -> tuple[list[PatientConsent], list[ConsentEvent]]:
    """The patient's current answer per channel and every change, newest first."""
    current = list(PatientConsent.objects.filter(patient=patient).order_by("channel"))
    history = list(ConsentEvent.objects.filter(patient=patient).order_by("-recorded_at", "-id"))
    return current, history


# --- the patient page (record helper) ------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    """A channel's current answer for the patient page (never asked = not opted in)."""

    channel: str
    label: str
    opted_in: bool
    method_label: str
    recorded_at: dt.datetime | None
    recorded_by: str


def consent_overview(*, patient: Patient) -> list[ConsentRow]:
    """The current answer per channel, with when, how and by whom it was recorded."""
    current = {c.channel: c for c in PatientConsent.objects.filter(patient=patient)}
    emails = dict(
        User.objects.filter(pk__in=[c.recorded_by_id for c in current.values()]).values_list(
            "pk", "email"
        )
    )
    rows = []
    for channel in Channel:
        consent = current.get(channel.value)
        rows.append(
            ConsentRow(
                channel=channel.value,
                label=channel.label,
                opted_in=bool(consent and consent.opted_in),
                method_label=ConsentMethod(consent.method).label
                if consent and consent.method
                else "",
                recorded_at=consent.recorded_at if consent else None,
                recorded_by=emails.get(consent.recorded_by_id or 0, "") if consent else "",
            )
        )
    return rows


def consent_history(*, patient: Patient, limit: int = 100) -> list[ConsentEvent]:
    """The patient's consent changes, newest first (kept for ever; the page shows the last 100)."""
    return list(ConsentEvent.objects.filter(patient=patient)[:limit])
