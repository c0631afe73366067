"""CSV import of patients: upload, column mapping, per-row checks, the two modes, the worker."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from shared_apps.accounts.models import Membership
from shared_apps.clinics.models import Clinic
from tenant_apps.audit.models import AuditEvent
from tenant_apps.patients.imports import guess_mapping, import_job_run
from tenant_apps.patients.models import ImportJob, Patient
from tenant_apps.patients.services import PatientInput, patient_create
from tenant_apps.patients.views_merge_import import UploadSizeLimit
from tests import factories
from tests.conftest import client_for
from tests.isolation.markers import assert_no_marker, marker
from tests.platform.conftest import CeleryWorker, celery_worker  # noqa: F401
from tests.support.committed import run_committed

pytestmark = pytest.mark.django_db

HEADER = "First name,Surname,DOB,Mobile,Email\n"


def upload(client: Client, content: bytes | str, name: str = "patients.csv") -> Any:
    raw = content.encode() if isinstance(content, str) else content
    return client.post("/patients/import/", {"file": SimpleUploadedFile(name, raw, "text/csv")})


def job_path(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def check(client: Client, path: str, mapping: dict[int, str] | None = None) -> Any:
    """Post the mapping (the guessed one unless given) and return the check page."""
    token = path.rstrip("/").rsplit("/", 1)[-1]
    job = ImportJob.objects.get(token=token)
    chosen = mapping if mapping is not None else {int(k): v for k, v in job.mapping.items()}
    response = client.post(path, {f"column_{i}": name for i, name in chosen.items()})
    if response.status_code == 302:
        return client.get(path)
    return response


@pytest.fixture
def owner(clinic_a: Any, owner_a: Any, clinic_client: Callable[..., Client]) -> Iterator[Client]:
    client = clinic_client(clinic_a, owner_a)
    with tenant_context(clinic_a):
        yield client


def test_a_file_is_mapped_checked_and_imported(owner, owner_a):
    rows = "Ann,Able,1984-03-21,07911 123456,ann@example.com\nBob,Baker,21/03/1990,,\n"
    path = job_path(upload(owner, HEADER + rows))
    mapping_page = owner.get(path).content.decode()
    assert '<option value="date_of_birth" selected>' in mapping_page
    assert '<option value="phone" selected>' in mapping_page
    assert "Ann" in mapping_page  # the preview

    page = check(owner, path).content.decode()
    assert "2 rows: 2 valid, 0 with errors" in page
    done = owner.post(path + "start/", {"mode": "all", "skip_duplicates": "on"})
    assert done.status_code == 302
    assert "2 patients imported" in owner.get(path).content.decode()
    assert ImportJob.objects.get().content == ""  # the file's copy is not kept
    ann = Patient.objects.get(first_name="Ann")
    assert ann.phone == "+447911123456"  # normalised with the clinic's country
    assert ann.date_of_birth == dt.date(1984, 3, 21)
    assert Patient.objects.get(first_name="Bob").date_of_birth == dt.date(1990, 3, 21)
    event = AuditEvent.objects.get(action="patient.import")
    assert event.actor_id == owner_a.pk
    assert event.details == {
        "rows": 2,
        "created": 2,
        "errors": 0,
        "duplicates_skipped": 0,
        "mode": "all",
    }


def test_headers_are_guessed_from_common_spellings():
    guessed = guess_mapping(["Forename", "Last Name", "D.O.B.", "Tel", "E-mail", "Gender", "Zip"])
    assert guessed == {
        "0": "first_name",
        "1": "last_name",
        "2": "date_of_birth",
        "3": "phone",
        "4": "email",
        "5": "sex",
        "6": "postcode",
    }


def test_an_unknown_layout_is_mapped_by_hand_and_missing_columns_are_refused(owner):
    path = job_path(upload(owner, "Given;Family;Notes\nCara;Cole;=1+2\n"))  # semicolons
    refused = check(owner, path, {0: "first_name", 2: "front_desk_notes"})
    assert refused.status_code == 400
    assert "Choose the column that holds the last name" in refused.content.decode()
    twice = check(owner, path, {0: "first_name", 1: "first_name"})
    assert "First name is chosen for two columns" in twice.content.decode()

    check(owner, path, {0: "first_name", 1: "last_name", 2: "front_desk_notes"})
    owner.post(path + "start/", {"mode": "all"})
    # A formula-like cell is stored as the text it is.
    assert Patient.objects.get(first_name="Cara").front_desk_notes == "=1+2"


def test_windows_1252_files_are_read_and_say_so(owner):
    path = job_path(upload(owner, (HEADER + "Zoë,Ørsted,,,\n").encode("cp1252")))
    page = owner.get(path).content.decode()
    assert "read as cp1252" in page
    check(owner, path)
    owner.post(path + "start/", {"mode": "all"})
    assert Patient.objects.filter(first_name="Zoë", last_name="Ørsted").exists()


def test_a_utf8_bom_does_not_spoil_the_first_header(owner):
    path = job_path(upload(owner, "\ufeff" + HEADER + "Ann,Able,,,\n"))
    page = owner.get(path).content.decode()
    assert "read as" not in page
    assert '<option value="first_name" selected>' in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x00\x00binary spreadsheet\x00", "Save it as CSV"),
        (b"", "file is empty"),
        (b"   \n", "file is empty"),
    ],
)
def test_files_that_are_not_csv_get_a_clear_error(owner, content, message):
    response = upload(owner, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_malformed_csv_names_its_line(owner):
    path = job_path(upload(owner, HEADER + "Ann,Able,,,\n" + "Bob," + "x" * 200_000 + "\n"))
    page = check(owner, path)
    assert page.status_code == 400
    assert "Line 3: the CSV is malformed" in page.content.decode()
    assert not Patient.objects.exists()


def import_all(client: Client, content: bytes | str) -> Any:
    """Upload, check with the guessed mapping and import the valid rows; the check page."""
    path = job_path(upload(client, content))
    page = check(client, path)
    client.post(path + "start/", {"mode": "valid"})
    return page


def test_a_date_is_read_in_the_clinics_order(owner, clinic_client):
    rows = "First name,Surname,DOB\nAnn,Able,03/04/1985\nBob,Baker,13/04/1985\n"
    us_clinic = factories.clinic_make(country="US", time_zone="America/New_York")
    us_owner = Membership.objects.get(clinic=us_clinic, role="owner").user
    with tenant_context(us_clinic):
        page = import_all(clinic_client(us_clinic, us_owner), rows).content.decode()
        assert Patient.objects.get(first_name="Ann").date_of_birth == dt.date(1985, 3, 4)
        # Month first, there is no 13th month: the row says which order is expected.
        assert "Line 3, Date of birth: Use a date such as 1984-03-21 or 03/21/1984." in page
        assert not Patient.objects.filter(first_name="Bob").exists()
    import_all(owner, rows)  # clinic A is in GB: day first
    assert Patient.objects.get(first_name="Ann").date_of_birth == dt.date(1985, 4, 3)
    assert Patient.objects.get(first_name="Bob").date_of_birth == dt.date(1985, 4, 13)


EXPORTED = (
    "first_name", "last_name", "preferred_name", "date_of_birth", "sex", "phone", "phone_alt",
    "email", "address_line1", "address_line2", "city", "postcode", "country",
)  # fmt: skip


def test_the_clinics_own_export_imports_back_unchanged(
    clinic_a, clinic_b, owner_a, outsider_b, clinic_client
):
    people = [
        PatientInput(
            first_name="Ann", last_name="Able", preferred_name="=Annie", phone="07911 123456",
            phone_alt="+33 6 12 34 56 78", email="ann@example.com", sex=Patient.Sex.FEMALE,
            date_of_birth=dt.date(1985, 3, 4), address_line1="-1 Flat", address_line2="@home",
            city="Leeds", postcode="LS1 1AA", country="GB",
        ),
        # A quote the export did not add (nothing formula-like follows) is the name's own.
        PatientInput(first_name="Gerard", last_name="'t Hooft", phone="+31 6 12345678"),
        PatientInput(first_name="+Plus", last_name="@Sign"),
    ]  # fmt: skip
    with tenant_context(clinic_a):
        originals = [patient_create(actor=owner_a, data=person) for person in people]
        export = clinic_client(clinic_a, owner_a).get("/patients/export.csv")
        content = b"".join(export.streaming_content)
    assert b"'+447911123456" in content  # the export's formula guard is there
    with tenant_context(clinic_b):
        page = import_all(clinic_client(clinic_b, outsider_b), content).content.decode()
        assert "3 rows: 3 valid, 0 with errors" in page
        imported = {p.first_name: p for p in Patient.objects.all()}
    for original in originals:
        copy = imported[original.first_name]
        assert {n: getattr(copy, n) for n in EXPORTED} == {
            n: getattr(original, n) for n in EXPORTED
        }
    assert imported["Ann"].phone == "+447911123456"
    assert imported["Gerard"].last_name == "'t Hooft"
    assert imported["+Plus"].last_name == "@Sign"
    with tenant_context(clinic_a):  # the copy went to B only
        assert Patient.objects.count() == len(people)


def test_a_job_runs_once_even_if_its_task_is_delivered_twice(owner):
    path = job_path(upload(owner, HEADER + "Ann,Able,,,\n"))
    check(owner, path)
    owner.post(path + "start/", {"mode": "all"})
    job = ImportJob.objects.get()
    assert import_job_run(actor=None, job_id=job.pk).status == ImportJob.Status.DONE
    assert Patient.objects.count() == 1


def csrf_client(clinic: Any, user: Any) -> tuple[Client, str]:
    """A signed-in client that, like a browser, must send the form's CSRF token."""
    client = Client(HTTP_HOST=factories.host_of(clinic), enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/patients/import/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    return client, token.group(1)


def size_limit_of(response: Any) -> UploadSizeLimit:
    handler = response.wsgi_request.upload_handlers[0]
    assert isinstance(handler, UploadSizeLimit)
    return handler


def test_a_50_mb_upload_is_refused_before_it_is_read(owner, clinic_a, owner_a):
    client, token = csrf_client(clinic_a, owner_a)
    big = SimpleUploadedFile("big.csv", b"a,b\n" + b"x" * (50 * 1024 * 1024), "text/csv")
    response = client.post("/patients/import/", {"csrfmiddlewaretoken": token, "file": big})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file is too large: import at most 10 MB at a time (split it)." in page
    assert "This field is required" not in page
    assert not ImportJob.objects.exists()
    # The body's length said enough: not one byte of the file was taken in, and the stock
    # handler after ours never made its temporary file.
    limit = size_limit_of(response)
    assert limit.too_large
    assert limit.received == 0
    handlers = response.wsgi_request.upload_handlers
    spool = next(h for h in handlers if isinstance(h, TemporaryFileUploadHandler))
    assert not hasattr(spool, "file")


def test_a_file_over_the_limit_is_cut_off_while_it_arrives(owner, clinic_a, owner_a, settings):
    # Within the form's allowance for its other fields, so only counting the bytes tells.
    settings.PATIENT_IMPORT_MAX_BYTES = 1024 * 1024
    client, token = csrf_client(clinic_a, owner_a)
    over = SimpleUploadedFile("over.csv", HEADER.encode() + b"x" * (1024 * 1024), "text/csv")
    response = client.post("/patients/import/", {"csrfmiddlewaretoken": token, "file": over})
    assert response.status_code == 400
    assert "import at most 1 MB" in response.content.decode()
    limit = size_limit_of(response)
    assert limit.too_large
    assert limit.received <= settings.PATIENT_IMPORT_MAX_BYTES + 64 * 1024  # one chunk past
    assert not ImportJob.objects.exists()

    row = b"Ann,Able,,,\n"
    padding = settings.PATIENT_IMPORT_MAX_BYTES - len(HEADER) - len(row)
    exact = HEADER.encode() + row + b" " * (padding - 1) + b"\n"
    assert len(exact) == settings.PATIENT_IMPORT_MAX_BYTES
    fits = SimpleUploadedFile("fits.csv", exact, "text/csv")
    accepted = client.post("/patients/import/", {"csrfmiddlewaretoken": token, "file": fits})
    assert accepted.status_code == 302, accepted.content.decode()[:2000]
    assert size_limit_of(accepted).received == len(exact)


def test_the_upload_still_needs_its_csrf_token(owner, clinic_a, owner_a):
    client, _token = csrf_client(clinic_a, owner_a)
    small = SimpleUploadedFile("p.csv", (HEADER + "Ann,Able,,,\n").encode(), "text/csv")
    assert client.post("/patients/import/", {"file": small}).status_code == 403
    assert not ImportJob.objects.exists()


def test_10000_bad_rows_give_a_quick_summary_and_save_nothing(owner):
    future = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    bad = "".join(f"Name{i},Last{i},{future},12,not-an-email\n" for i in range(10_000))
    path = job_path(upload(owner, HEADER + bad))
    started = time.monotonic()
    page = check(owner, path).content.decode()
    assert time.monotonic() - started < 30
    assert "10000 rows: 0 valid, 10000 with errors" in page
    assert "Line 2, Date of birth: The date of birth cannot be in the future." in page
    assert page.count("<li>Line ") <= 50 + 0  # at most 50 problems listed
    assert "of 10000 rows" in page
    refused = owner.post(path + "start/", {"mode": "all"})
    assert refused.status_code == 400
    assert "10000 rows have errors" in refused.content.decode()
    nothing = owner.post(path + "start/", {"mode": "valid"})
    assert "No row can be imported" in nothing.content.decode()
    assert not Patient.objects.exists()


def test_all_or_nothing_refuses_and_valid_only_imports_the_rest(owner):
    rows = "Ann,Able,,,\n,Nobody,,,\nBob,Baker,,+44 7911 123457,\n"
    path = job_path(upload(owner, HEADER + rows))
    page = check(owner, path).content.decode()
    assert "Line 3, First name: Enter the first name." in page
    assert owner.post(path + "start/", {"mode": "all"}).status_code == 400
    assert not Patient.objects.exists()
    assert owner.post(path + "start/", {"mode": "valid"}).status_code == 302
    assert sorted(Patient.objects.values_list("first_name", flat=True)) == ["Ann", "Bob"]
    assert "2 patients imported; 1 row with errors skipped" in owner.get(path).content.decode()
    again = owner.post(path + "start/", {"mode": "valid"})
    assert again.status_code == 400  # a job runs once
    assert Patient.objects.count() == 2


def test_duplicates_in_the_file_and_in_the_clinic_are_flagged_and_skipped(owner):
    patient_create(
        actor=None, data=PatientInput(first_name="Old", last_name="Timer", phone="07911 123456")
    )
    rows = (
        "Ann,Able,1980-01-01,,\n"
        "Anne,Able,1980-01-01,,\n"  # a different first name: not the same person
        "Ann,Able,01/01/1980,,\n"  # same name and birth date as line 2
        "Tim,Timer,,+447911123456,\n"  # the existing patient's phone
    )
    path = job_path(upload(owner, HEADER + rows))
    page = check(owner, path).content.decode()
    assert "Line 4: same name and date of birth as line 2" in page
    assert "Line 5: looks like existing patient P-" in page
    owner.post(path + "start/", {"mode": "all", "skip_duplicates": "on"})
    assert Patient.objects.filter(last_name="Able").count() == 2
    assert not Patient.objects.filter(first_name="Tim").exists()


def test_markup_in_cells_is_escaped_on_every_step(owner):
    path = job_path(upload(owner, "<b>First name</b>,Surname\n<script>alert(1)</script>,X\n"))
    for page in (owner.get(path), check(owner, path, {0: "first_name", 1: "last_name"})):
        html = page.content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)" in html
    owner.post(path + "start/", {"mode": "all"})
    assert Patient.objects.get().first_name == "<script>alert(1)</script>"


def test_a_large_file_is_queued_and_its_page_polls(owner, settings):
    settings.PATIENT_IMPORT_SYNC_ROWS = 2
    path = job_path(upload(owner, HEADER + "A,One,,,\nB,Two,,,\nC,Three,,,\n"))
    check(owner, path)
    owner.post(path + "start/", {"mode": "all"})
    # No worker here and the test's transaction never commits: the job waits, visibly.
    page = owner.get(path)
    assert page["Refresh"] == "2"
    assert "0 of 3 rows imported so far" in page.content.decode()
    assert not Patient.objects.exists()


def test_receptionists_import_and_billing_cannot(clinic_a, receptionist_a, clinic_client):
    client = clinic_client(clinic_a, receptionist_a)
    assert client.get("/patients/import/").status_code == 200
    billing = factories.user_create()
    factories.membership_add(user=billing, clinic=clinic_a, role="billing")
    assert clinic_client(clinic_a, billing).get("/patients/import/").status_code == 403


def test_imports_stay_in_their_clinic(clinic_a, clinic_b, owner_a, outsider_b, clinic_client):
    b_marker = marker(clinic_b, "import")
    b_client = clinic_client(clinic_b, outsider_b)
    with tenant_context(clinic_b):
        b_path = job_path(upload(b_client, f"{HEADER}{b_marker},Bee,,,\n", name=f"{b_marker}.csv"))
    a_client = clinic_client(clinic_a, owner_a)
    with tenant_context(clinic_a):
        # B's job token is a 404 in A, its pages and the start step alike.
        assert a_client.get(b_path).status_code == 404
        assert a_client.post(b_path + "start/", {"mode": "all"}).status_code == 404
        a_path = job_path(upload(a_client, HEADER + "Ann,Able,,,\n"))
        check(a_client, a_path)
        a_client.post(a_path + "start/", {"mode": "all"})
        assert_no_marker(a_client.get(a_path).content, b_marker)
        recent = a_client.get("/patients/import/").content.decode()
        assert "patients.csv" in recent  # A's own upload is listed
        assert_no_marker(recent, b_marker)
        assert list(Patient.objects.values_list("first_name", flat=True)) == ["Ann"]
    with tenant_context(clinic_b):
        assert not Patient.objects.filter(first_name="Ann").exists()


@pytest.mark.parametrize("token", ["not-a-token", "x" * 300, "%00", "A" * 32])
def test_unknown_tokens_are_404(owner, token):
    assert owner.get(f"/patients/import/{token}/").status_code == 404


# --- through the real worker -------------------------------------------------------------------


@pytest.fixture
def worker_clinic() -> Iterator[Clinic]:
    clinic = run_committed(lambda: factories.clinic_make(subdomain="import-worker"))
    yield clinic

    def undo() -> None:
        with schema_context("public"):
            Clinic.objects.get(pk=clinic.pk).delete(force_drop=True)

    run_committed(undo)


def test_a_large_import_runs_in_the_worker_with_progress(
    celery_worker: CeleryWorker,  # noqa: F811
    worker_clinic: Clinic,
    settings: Any,
) -> None:
    settings.PATIENT_IMPORT_SYNC_ROWS = 10
    rows = "".join(f"Name{i},Worker,,,\n" for i in range(250))

    def start() -> str:
        client = client_for(Client, worker_clinic, worker_clinic_owner(worker_clinic))
        path = job_path(upload(client, HEADER + rows))
        assert check(client, path).status_code == 200
        started = client.post(path + "start/", {"mode": "all"})
        assert started.status_code == 302
        return path

    path = run_committed(start)
    deadline = time.monotonic() + 60
    job: ImportJob | None = None
    while time.monotonic() < deadline:
        job = run_committed(lambda: _job_in(worker_clinic, path))
        if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
            break
        time.sleep(0.2)
    assert job is not None
    assert job.status == ImportJob.Status.DONE, (job.status, celery_worker.log_tail())
    assert job.created_count == 250
    assert job.progress == 250
    count = run_committed(lambda: _count_in(worker_clinic))
    assert count == 250


def worker_clinic_owner(clinic: Clinic) -> Any:
    from shared_apps.accounts.models import Membership

    return Membership.objects.get(clinic=clinic, role="owner").user


def _job_in(clinic: Clinic, path: str) -> ImportJob:
    token = path.rstrip("/").rsplit("/", 1)[-1]
    with tenant_context(clinic):
        return ImportJob.objects.get(token=token)


def _count_in(clinic: Clinic) -> int:
    with tenant_context(clinic):
        return Patient.objects.filter(last_name="Worker").count()
