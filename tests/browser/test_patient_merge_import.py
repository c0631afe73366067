"""Importing patients from a CSV file, then merging a duplicate, in a real browser.

A practitioner (who may merge) uploads a small file with one bad row, checks the guessed
columns, imports only the valid rows, finds one of them in the list, and folds the imported
copy of an existing patient into the original. The receptionist is refused the merge.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db.models import Max
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from tenant_apps.patients.models import ImportJob, Patient, PatientMerge, PatientNumberCounter
from tenant_apps.patients.services import PatientInput, patient_create
from tests.browser.conftest import LiveSite, NewPage, _in_a_connection_of_its_own
from tests.browser.test_shell import sign_in
from tests.conftest import World

PRACTITIONER_A = "practitioner@clinic-a.example"
RECEPTIONIST_A = "reception@clinic-a.example"
LAST_NAME = "Importson"
CSV_NAME = "browser-import-importson.csv"
# Line 3 is the bad row (a phone too short, a birth date in the future); line 4 is Dora,
# who is already on file with another phone: the check flags her, the import keeps her.
CSV_TEXT = (
    "First name,Last name,Date of birth,Mobile,Email\n"
    f"Ada,{LAST_NAME},1980-01-02,07911 200001,ada@example.com\n"
    f"Eve,{LAST_NAME},01/01/2999,12345,eve@example.com\n"
    f"Dora,{LAST_NAME},03/02/1985,07911 200003,dora@example.com\n"
    f"Finn,{LAST_NAME},1992-07-08,07911 200004,\n"
)


@pytest.fixture
def import_cleanup(world: World) -> Iterator[None]:
    """Removes the merges, patients and import job the server committed; resets numbering.

    Requested first, so it runs last (after the browser contexts are closed). The audit
    rows stay: the trail is append-only, and they name only ids.
    """
    yield

    def undo() -> None:
        with schema_context(world.clinic_a.schema_name):  # type: ignore[attr-defined]
            # Merges and `merged_into` protect the records they point at: those go first.
            PatientMerge.objects.filter(survivor__last_name=LAST_NAME).delete()
            PatientMerge.objects.filter(merged__last_name=LAST_NAME).delete()
            mine = Patient.objects.filter(last_name=LAST_NAME)
            mine.filter(merged_into__isnull=False).delete()
            mine.delete()  # consents and their history cascade
            ImportJob.objects.filter(filename=CSV_NAME).delete()
            last = Patient.objects.aggregate(last=Max("sequence"))["last"] or 0
            PatientNumberCounter.objects.filter(pk=1).update(last_number=last)

    _in_a_connection_of_its_own(undo)


@pytest.fixture
def existing_dora(world: World, import_cleanup: None) -> Patient:
    """Dora as she is already on file (committed, so the live server sees her)."""
    found: list[Patient] = []

    def seed() -> None:
        with schema_context(world.clinic_a.schema_name):  # type: ignore[attr-defined]
            data = PatientInput(
                first_name="Dora",
                last_name=LAST_NAME,
                date_of_birth=dt.date(1985, 2, 3),
                phone="+44 7911 200099",  # international: the seed has no clinic region
            )
            found.append(patient_create(actor=None, data=data))

    _in_a_connection_of_its_own(seed)
    return found[0]


def import_the_file(page: Page, site: LiveSite, csv_file: Path, dora_number: str) -> None:
    page.goto(site.clinic_url("clinic-a", "/patients/"))
    page.get_by_test_id("patients-import").click()
    page.get_by_label("CSV file").set_input_files(csv_file)
    page.get_by_role("button", name="Upload").click()

    # The mapping page: each column's field guessed from its header, first rows shown.
    expect(page).to_have_url(re.compile(r"/patients/import/[A-Za-z0-9_-]{16,64}/$"))
    mapping = page.get_by_test_id("import-mapping")
    expect(mapping).to_contain_text("Ada · Eve · Dora · Finn")
    guessed = {
        "First name": "first_name",
        "Last name": "last_name",
        "Date of birth": "date_of_birth",
        "Mobile": "phone",
        "Email": "email",
    }
    for header, field in guessed.items():
        expect(page.get_by_label(f"Field for column {header}", exact=True)).to_have_value(field)
    page.get_by_role("button", name="Check every row").click()

    # The check: the bad row's problems by line number, Dora flagged, nothing imported yet.
    check = page.get_by_test_id("import-check")
    expect(check).to_contain_text("4 rows: 3 valid, 1 with errors, 1 that look like duplicates.")
    errors = page.get_by_test_id("import-row-errors").locator("li")
    expect(errors).to_have_count(2)
    expect(errors.filter(has_text="Date of birth")).to_have_text(
        "Line 3, Date of birth: The date of birth cannot be in the future."
    )
    expect(errors.filter(has_text="Phone")).to_contain_text("Line 3, Phone:")
    expect(page.get_by_test_id("import-duplicates")).to_contain_text(
        f"Line 4: looks like existing patient {dora_number}"
    )
    expect(check.get_by_label("Only the valid rows")).to_be_checked()  # errors: preselected
    check.get_by_label("All or nothing").check()
    check.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text("1 row has errors")

    check = page.get_by_test_id("import-check")
    check.get_by_label("Only the valid rows").check()
    check.get_by_label("Skip rows that look like duplicates").uncheck()  # Dora is merged later
    check.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-done")).to_have_text(
        "3 patients imported; 1 row with errors skipped."
    )
    expect(page.get_by_test_id("import-status")).to_have_text("Status: Imported.")


@pytest.mark.browser
def test_a_practitioner_imports_a_csv_then_merges_a_duplicate(
    existing_dora: Patient, page: Page, new_page: NewPage, live_site: LiveSite, tmp_path: Path
) -> None:
    csv_file = tmp_path / CSV_NAME
    csv_file.write_text(CSV_TEXT, encoding="utf-8")

    sign_in(page, live_site, PRACTITIONER_A)
    expect(page).to_have_url(live_site.clinic_url("clinic-a", "/"))
    import_the_file(page, live_site, csv_file, existing_dora.number)

    # The list finds the imported patients by name.
    page.get_by_role("link", name="Back to the patients").click()
    page.get_by_label("Search by name").fill(f"Finn {LAST_NAME}")
    page.get_by_label("Search by name").press("Enter")
    results = page.get_by_test_id("patient-results").locator("tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Finn")
    expect(results.first).to_contain_text("+447911200004")
    page.get_by_label("Search by name").fill(f"Dora {LAST_NAME}")
    page.get_by_label("Search by name").press("Enter")
    expect(page.get_by_test_id("patient-count")).to_contain_text("2 matches")

    # Merge: from the imported Dora's page, find the original, keep the original.
    imported_row = page.get_by_test_id("patient-results").locator("tr", has_text="+447911200003")
    imported_row.get_by_role("link").first.click()
    expect(page.get_by_test_id("patient-name")).to_have_text(f"Dora {LAST_NAME}")
    imported_url = page.url
    imported_number = page.get_by_test_id("patient-number").inner_text()
    page.get_by_test_id("merge-link").click()
    expect(page).to_have_url(re.compile(r"/patients/\d+/merge/$"))
    page.get_by_label("Find the other record").fill(f"Dora {LAST_NAME}")
    page.get_by_role("button", name="Search").click()
    candidates = page.get_by_test_id("merge-candidates").get_by_role("link")
    expect(candidates).to_have_count(1)  # the page's own record is not offered
    expect(candidates).to_have_text(f"{existing_dora.number} Dora {LAST_NAME}")
    candidates.click()

    comparison = page.get_by_test_id("merge-comparison")
    expect(comparison.locator("thead th").nth(1)).to_have_text(imported_number)
    expect(comparison.locator("thead th").nth(2)).to_have_text(existing_dora.number)
    phone_row = comparison.locator("tbody tr", has_text="Phone").first
    expect(phone_row).to_have_class("differs")
    expect(phone_row.locator("td")).to_have_text(["+447911200003", "+447911200099"])
    email_row = comparison.locator(
        "tbody tr", has=page.locator("th", has_text=re.compile("^Email$"))
    )
    expect(email_row.locator("td")).to_have_text(["dora@example.com", "—"])
    # The original lacks an email: the page says it will take the imported one's.
    expect(page.locator("label", has_text=f"{existing_dora.number} stays")).to_have_text(
        f"{existing_dora.number} stays (takes from {imported_number}: Email)"
    )
    keep_original = page.get_by_label(f"{existing_dora.number} stays")
    keep_original.check()
    page.get_by_role("button", name="Merge the records").click()

    # The survivor's page: its own number, the email it took, and the merge note.
    expect(page).to_have_url(live_site.clinic_url("clinic-a", f"/patients/{existing_dora.pk}/"))
    expect(page.get_by_test_id("patient-number")).to_have_text(existing_dora.number)
    expect(page.get_by_test_id("merged-from")).to_contain_text(
        f"Merged into this record: {imported_number} on"
    )
    expect(page.get_by_test_id("details")).to_contain_text("dora@example.com")
    expect(page.get_by_test_id("patient-header")).to_contain_text("+447911200099")

    # The merged record says where it went, and offers no second merge.
    page.goto(imported_url)
    expect(page.get_by_test_id("merged-into")).to_contain_text(
        f"This record was merged into {existing_dora.number} Dora {LAST_NAME}"
    )
    expect(page.get_by_test_id("archived-badge")).to_be_visible()
    expect(page.get_by_test_id("merge-link")).to_have_count(0)
    page.get_by_test_id("merged-into").get_by_role("link", name="open that one").click()
    expect(page).to_have_url(live_site.clinic_url("clinic-a", f"/patients/{existing_dora.pk}/"))

    page.goto(live_site.clinic_url("clinic-a", "/patients/merges/"))
    merges = page.get_by_test_id("merges").locator("tbody tr")
    row = merges.filter(has_text=imported_number)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text(f"{imported_number} Dora {LAST_NAME}")
    expect(row.locator("td").nth(2)).to_have_text(f"{existing_dora.number} Dora {LAST_NAME}")

    # The front desk may not merge: no link on the page, and the merge page is refused.
    front_desk = new_page()
    sign_in(front_desk, live_site, RECEPTIONIST_A)
    expect(front_desk).to_have_url(live_site.clinic_url("clinic-a", "/"))
    front_desk.goto(live_site.clinic_url("clinic-a", f"/patients/{existing_dora.pk}/"))
    expect(front_desk.get_by_test_id("edit-link")).to_be_visible()
    expect(front_desk.get_by_test_id("merge-link")).to_have_count(0)
    refused = front_desk.goto(
        live_site.clinic_url("clinic-a", f"/patients/{existing_dora.pk}/merge/")
    )
    assert refused is not None
    assert refused.status == 403
