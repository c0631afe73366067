"""CSV import of patients: upload, map columns, check every row, then import.

The upload is decoded once and kept in an `ImportJob` row in the clinic's own schema (never
a file under a public URL). Every row goes through the same validation as a form
(`services._clean`), after the import's own parsing of dates and sex. Importing is either
all or nothing (one transaction, refused if any row fails) or only the valid rows (still one
transaction). Files over `PATIENT_IMPORT_SYNC_ROWS` rows are imported by a Celery task; its
progress is published in the cache (the transaction hides the rows until it commits).

Cells that look like spreadsheet formulas ("=SUM(A1)") are stored as typed: they are text
here, escaped on every page, and the CSV export is what neutralises them for spreadsheets
(with a leading "'", which the import takes off again, so the clinic's own export imports
back unchanged).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from drcrm.validation import whole_number
from shared_apps.accounts.models import User
from tenant_apps.audit.services import audit_record
from tenant_apps.patients.models import ImportJob, Patient
from tenant_apps.patients.selectors import date_formats, month_first
from tenant_apps.patients.services import (
    INPUT_FIELDS,
    PatientInput,
    _clean,
    _region,
    patient_create,
    search_normalise,
)

MAX_COLUMNS = 100
ERRORS_SHOWN = 50  # per-row errors kept and shown; the total is always counted
PROGRESS_EVERY = 100  # rows between progress updates
STALE_UPLOAD_DAYS = 7  # an upload's text is cleared after this long
RECENT_JOBS_SHOWN = 10

FIELD_LABELS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "preferred_name": "Preferred name",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "phone": "Phone",
    "phone_alt": "Other phone",
    "email": "Email",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "postcode": "Postcode",
    "country": "Country",
    "national_id": "National ID",
    "emergency_contact_name": "Emergency contact",
    "emergency_contact_phone": "Emergency contact phone",
    "referral_source": "Referral source",
    "allergies": "Allergies",
    "medical_alerts": "Medical alerts",
    "front_desk_notes": "Front-desk notes",
}
REQUIRED_FIELDS = ("first_name", "last_name")

# Header spellings seen in other systems' exports (compared lower-case, letters/digits only).
_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "givenname", "forename", "forenames", "name1"),
    "last_name": ("lastname", "surname", "familyname", "last", "name2"),
    "preferred_name": ("preferredname", "knownas", "nickname"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate", "birthday", "born", "birth"),
    "sex": ("sex", "gender"),
    "phone": (
        "phone",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cell",
        "cellphone",
        "telephone",
        "tel",
        "phonenumber",
        "mainphone",
    ),
    "phone_alt": (
        "otherphone",
        "homephone",
        "phone2",
        "altphone",
        "alternativephone",
        "landline",
        "workphone",
        "secondphone",
    ),
    "email": ("email", "emailaddress", "mail"),
    "address_line1": ("address", "addressline1", "address1", "street", "streetaddress"),
    "address_line2": ("addressline2", "address2"),
    "city": ("city", "town"),
    "postcode": ("postcode", "zip", "zipcode", "postalcode"),
    "country": ("country", "countrycode"),
    "national_id": ("nationalid", "nhsnumber", "ssn", "idnumber", "nationalidentifier"),
    "emergency_contact_name": ("emergencycontact", "emergencycontactname", "nextofkin"),
    "emergency_contact_phone": ("emergencyphone", "emergencycontactphone", "nextofkinphone"),
    "referral_source": ("referralsource", "referral", "referredby", "source"),
    "allergies": ("allergies", "allergy"),
    "medical_alerts": ("medicalalerts", "alerts", "medicalconditions", "conditions"),
    "front_desk_notes": ("frontdesknotes", "notes", "comments", "note"),
}
_SEX_WORDS = {
    "f": Patient.Sex.FEMALE, "female": Patient.Sex.FEMALE, "w": Patient.Sex.FEMALE,
    "woman": Patient.Sex.FEMALE, "m": Patient.Sex.MALE, "male": Patient.Sex.MALE,
    "man": Patient.Sex.MALE, "o": Patient.Sex.OTHER, "other": Patient.Sex.OTHER,
    "x": Patient.Sex.OTHER, "": Patient.Sex.UNKNOWN, "u": Patient.Sex.UNKNOWN,
    "unknown": Patient.Sex.UNKNOWN, "not recorded": Patient.Sex.UNKNOWN,
}  # fmt: skip


# --- reading the file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # "utf-8", "cp1252" or "latin-1"


def decode_upload(raw: bytes) -> Decoded:
    """Text of an uploaded CSV: UTF-8 (with or without BOM), else Windows-1252, else Latin-1.

    Binary files (spreadsheets, images) are refused: a NUL byte never occurs in CSV text.
    """
    if not raw.strip():
        raise ValidationError({"file": ["The file is empty."]})
    if b"\x00" in raw[:65536]:
        raise ValidationError(
            {"file": ["This is not a CSV text file (an Excel file? Save it as CSV first)."]}
        )
    try:
        return Decoded(raw.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text, encoding = raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "latin-1"
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > len(text[:65536]) // 100:
        raise ValidationError({"file": ["This file does not look like CSV text."]})
    return Decoded(text, encoding)


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _reader(job: ImportJob) -> Any:
    return csv.reader(io.StringIO(job.content, newline=""), delimiter=job.delimiter, strict=False)


def read_rows(job: ImportJob) -> Iterator[tuple[int, list[str]]]:
    """(line number in the file, cells) for every data row; blank lines are skipped."""
    reader = _reader(job)
    next(reader, None)  # the header row
    line = reader.line_num + 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as error:
        raise ValidationError({"file": [f"Line {line}: the CSV is malformed ({error})."]}) from None


def _normal_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Column index (as text) -> field, from the header names; each field used once."""
    lookup = {_normal_header(name): name for name in INPUT_FIELDS}
    for name, synonyms in _HEADER_SYNONYMS.items():
        lookup.update(dict.fromkeys(synonyms, name))
    mapping: dict[str, str] = {}
    for index, header in enumerate(headers):
        found = lookup.get(_normal_header(header))
        if found and found not in mapping.values():
            mapping[str(index)] = found
    return mapping


# --- one row ---------------------------------------------------------------------------------

# What the CSV export puts a "'" in front of (views.FORMULA_STARTS, less the whitespace that
# stored values never start with): "'+447700900123" in an export is the phone +447700900123.
_EXPORT_ESCAPED_STARTS = ("=", "+", "-", "@")


def export_unescape(cell: str) -> str:
    """The cell without the export's formula guard; any other leading "'" is kept ("'t Hooft")."""
    if cell.startswith("'") and cell[1:].startswith(_EXPORT_ESCAPED_STARTS):
        return cell[1:]
    return cell


def parse_date(text: str, *, country: str) -> dt.date | None:
    """A cell's date: ISO, or day/month/year in the clinic's country's usual order.

    The same orders as the search box, so a date typed there finds what was imported.
    """
    text = text.strip()
    if not text:
        return None
    for form in date_formats(country):
        try:
            return dt.datetime.strptime(text, form).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    example = "03/21/1984" if month_first(country) else "21/03/1984"
    raise ValidationError(f"Use a date such as 1984-03-21 or {example}.")


def row_input(cells: list[str], mapping: dict[str, str], *, country: str) -> PatientInput:
    """The PatientInput a row describes; ValidationError (field map) for dates and sex.

    `country` is the clinic's: it decides whether 03/04/1985 is in March or in April.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for index, name in mapping.items():
        position = int(index)
        values[name] = export_unescape(cells[position].strip()) if position < len(cells) else ""
    if "date_of_birth" in values:
        try:
            values["date_of_birth"] = parse_date(values["date_of_birth"], country=country)
        except ValidationError as error:
            errors["date_of_birth"] = error.messages
            values["date_of_birth"] = None
    if "sex" in values:
        sex = _SEX_WORDS.get(values["sex"].casefold())
        if sex is None:
            errors["sex"] = ["Use female, male, other or leave it empty."]
        values["sex"] = sex or Patient.Sex.UNKNOWN
    if errors:
        raise ValidationError(errors)
    return PatientInput(**values)


# --- checking the whole file ------------------------------------------------------------------


@dataclass
class CheckedRow:
    line: int
    data: PatientInput
    values: dict[str, Any]  # as the service cleaned them (E.164 phones)
    duplicate_of: str = ""  # why it looks like a duplicate, empty if it does not


@dataclass
class Checked:
    total: int = 0
    valid: list[CheckedRow] = field(default_factory=list)
    error_rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duplicates(self) -> list[CheckedRow]:
        return [row for row in self.valid if row.duplicate_of]


def _error_entries(line: int, error: ValidationError) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for name, messages in error.message_dict.items():
        label = FIELD_LABELS.get(name, "File")
        entries.extend({"line": line, "field": label, "message": m} for m in messages)
    return entries


def _flag_duplicates(rows: list[CheckedRow]) -> None:
    """Same phone or same name + birth date: within the file, or as an existing patient."""
    phones: dict[str, int] = {}
    people: dict[tuple[str, str, dt.date], int] = {}
    for row in rows:
        values = row.values
        phone = values["phone"]
        person = (
            (search_normalise(values["first_name"]), search_normalise(values["last_name"]),
             values["date_of_birth"])
            if values["date_of_birth"] else None
        )  # fmt: skip
        if phone and phone in phones:
            row.duplicate_of = f"same phone as line {phones[phone]}"
        elif person and person in people:
            row.duplicate_of = f"same name and date of birth as line {people[person]}"
        if phone:
            phones.setdefault(phone, row.line)
        if person:
            people.setdefault(person, row.line)
    existing_phones = {
        p.phone: p for p in Patient.objects.filter(merged_into__isnull=True, phone__in=list(phones))
    }
    births = {person[2] for person in people}
    existing_people = {
        (search_normalise(p.first_name), search_normalise(p.last_name), p.date_of_birth): p
        for p in Patient.objects.filter(merged_into__isnull=True, date_of_birth__in=births)
    }
    for row in rows:
        if row.duplicate_of:
            continue
        values = row.values
        match = existing_phones.get(values["phone"]) if values["phone"] else None
        if match is None and values["date_of_birth"]:
            key = (
                search_normalise(values["first_name"]),
                search_normalise(values["last_name"]),
                values["date_of_birth"],
            )
            match = existing_people.get(key)
        if match is not None:
            row.duplicate_of = f"looks like existing patient {match.number}"


def import_check(job: ImportJob) -> Checked:
    """Every row through the service's validation; errors with line numbers, duplicates."""
    region = _region()
    checked = Checked()
    for line, cells in read_rows(job):
        checked.total += 1
        try:
            data = row_input(cells, job.mapping, country=region)
            values = _clean(data, region=region)
        except ValidationError as error:
            checked.error_rows += 1
            if len(checked.errors) < ERRORS_SHOWN:
                checked.errors.extend(_error_entries(line, error))
            continue
        checked.valid.append(CheckedRow(line=line, data=data, values=values))
    checked.errors = checked.errors[:ERRORS_SHOWN]
    _flag_duplicates(checked.valid)
    return checked


# --- the services -----------------------------------------------------------------------------


def import_job_create(*, actor: User | None, filename: str, raw: bytes) -> ImportJob:
    """Keep an upload for the mapping step; ValidationError {"file": [...]} if unusable."""
    if len(raw) > settings.PATIENT_IMPORT_MAX_BYTES:
        raise ValidationError({"file": [too_large_message()]})
    decoded = decode_upload(raw)
    delimiter = sniff_delimiter(decoded.text)
    try:
        headers = next(csv.reader(io.StringIO(decoded.text, newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration):
        raise ValidationError({"file": ["Line 1: the header row cannot be read."]}) from None
    headers = [header.strip() for header in headers]
    if len(headers) > MAX_COLUMNS:
        raise ValidationError({"file": [f"Use at most {MAX_COLUMNS} columns."]})
    if not any(headers):
        raise ValidationError({"file": ["The first line must name the columns."]})
    # Uploads never imported are not kept for ever either (they hold patient data).
    stale = timezone.now() - dt.timedelta(days=STALE_UPLOAD_DAYS)
    ImportJob.objects.filter(created_at__lt=stale).exclude(content="").update(content="")
    job = ImportJob.objects.create(
        token=secrets.token_urlsafe(24),
        filename=filename[:255].replace("\x00", ""),
        content=decoded.text,
        encoding=decoded.encoding,
        delimiter=delimiter,
        headers=headers,
        mapping=guess_mapping(headers),
        created_by_id=getattr(actor, "pk", None),
    )
    return job


def too_large_message() -> str:
    megabytes = settings.PATIENT_IMPORT_MAX_BYTES // (1024 * 1024)
    return f"The file is too large: import at most {megabytes} MB at a time (split it)."


def import_mapping_errors(job: ImportJob, mapping: dict[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for index, name in mapping.items():
        column = whole_number(index)
        if column is None or column >= len(job.headers) or name not in INPUT_FIELDS:
            errors.setdefault("mapping", []).append("Choose a field from the list.")
        elif name in used:
            errors.setdefault("mapping", []).append(
                f"{FIELD_LABELS[name]} is chosen for two columns; choose it once."
            )
        used[name] = index
    for name in REQUIRED_FIELDS:
        if name not in used:
            errors.setdefault("mapping", []).append(
                f"Choose the column that holds the {FIELD_LABELS[name].lower()}."
            )
    return errors


def import_job_map(*, actor: User | None, job: ImportJob, mapping: dict[str, str]) -> Checked:
    """Save the column mapping and check every row with it (nothing is imported yet)."""
    errors = import_mapping_errors(job, mapping)
    if errors:
        raise ValidationError(errors)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATED):
        raise ValidationError({"mapping": ["This import has already run."]})
    job.mapping = mapping
    checked = import_check(job)
    duplicates = checked.duplicates
    job.status = ImportJob.Status.VALIDATED
    job.total_rows = checked.total
    job.valid_rows = len(checked.valid)
    job.error_rows = checked.error_rows
    job.errors = checked.errors
    job.duplicate_rows = len(duplicates)
    job.duplicates = [
        {"line": row.line, "message": row.duplicate_of} for row in duplicates[:ERRORS_SHOWN]
    ]
    job.save()
    return checked


def import_job_start(
    *, actor: User | None, job: ImportJob, mode: str, skip_duplicates: bool
) -> ImportJob:
    """Import now (small files) or queue the Celery task (large ones)."""
    if mode not in ImportJob.Mode.values:
        raise ValidationError({"mode": ["Choose all or nothing, or only the valid rows."]})
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportJob.Status.VALIDATED:
            raise ValidationError({"mode": ["This import has already started."]})
        if mode == ImportJob.Mode.ALL_OR_NOTHING and job.error_rows:
            rows = "1 row has" if job.error_rows == 1 else f"{job.error_rows} rows have"
            raise ValidationError(
                {"mode": [f"{rows} errors: fix them, or import only the valid rows."]}
            )
        if not job.valid_rows:
            raise ValidationError({"mode": ["No row can be imported."]})
        job.mode = mode
        job.skip_duplicates = skip_duplicates
        job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["mode", "skip_duplicates", "status"])
        if job.total_rows > settings.PATIENT_IMPORT_SYNC_ROWS:
            from drcrm.tasks import enqueue_on_commit
            from tenant_apps.patients.tasks import patients_import_run

            enqueue_on_commit(patients_import_run, job.pk, actor_id=getattr(actor, "pk", None))
            return job
    return import_job_run(actor=actor, job_id=job.pk)


def progress_key(job: ImportJob) -> str:
    return f"patients:import:{job.token}:progress"


def import_progress(job: ImportJob) -> int:
    """Rows done so far: the cache while a run's transaction is open, the row after."""
    if job.status == ImportJob.Status.QUEUED:
        return int(cache.get(progress_key(job)) or 0)
    return job.progress


def _finish(job: ImportJob, status: str, **fields: Any) -> None:
    job.status = status
    job.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


def import_job_run(*, actor: User | None, job_id: int) -> ImportJob:
    """Create the patients of a checked, started job in one transaction.

    The job row stays locked (and "queued") until the transaction commits with "done": a
    run that dies rolls back to "queued" and Celery's redelivery runs it again; a second
    delivery while the first still runs skips the locked row. The rows are checked again
    (another import may have added the same patients since): all or nothing refuses the
    whole file if any row fails now.
    """
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status=ImportJob.Status.QUEUED)
            .first()
        )
        if job is None:  # already done, or being done by another delivery
            return ImportJob.objects.get(pk=job_id)
        cache.set(progress_key(job), 0, timeout=3600)
        checked = import_check(job)
        if job.mode == ImportJob.Mode.ALL_OR_NOTHING and checked.error_rows:
            _finish(
                job,
                ImportJob.Status.REFUSED,
                error_rows=checked.error_rows,
                errors=checked.errors,
                failure="Some rows have errors now; nothing was imported.",
            )
            return job
        rows = [r for r in checked.valid if not (job.skip_duplicates and r.duplicate_of)]
        for done, row in enumerate(rows, start=1):
            patient_create(actor=actor, data=row.data)
            if done % PROGRESS_EVERY == 0:
                cache.set(progress_key(job), done, timeout=3600)
        audit_record(
            actor=actor,
            action="patient.import",
            target=job,
            details={
                "rows": checked.total,
                "created": len(rows),
                "errors": checked.error_rows,
                "duplicates_skipped": len(checked.valid) - len(rows),
                "mode": job.mode,
            },
        )
        # The file's copy of patient data is not kept once it is imported.
        _finish(job, ImportJob.Status.DONE, progress=len(rows), created_count=len(rows), content="")
    cache.delete(progress_key(job))
    return job


def import_job_fail(*, job_id: int, reason: str) -> None:
    """Mark a job failed (the task's last resort), so its page stops waiting."""
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportJob.Status.DONE).update(
        status=ImportJob.Status.FAILED, failure=reason[:500], finished_at=timezone.now()
    )
