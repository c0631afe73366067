"""Patient pages, under /patients/ (every view declares its capability)."""

from django.urls import URLPattern, path

from tenant_apps.patients import views
from tenant_apps.patients import views_merge_import as views_mi

urlpatterns: list[URLPattern] = [
    # --- list, search and export (search helper) ---
    path("", views.patients, name="patients"),
    path("export.csv", views.patients_export, name="patients-export"),
    # --- the patient page, create, edit, archive, consent (record helper) ---
    path("new/", views.patient_new, name="patient-new"),
    path("<int:patient_id>/", views.patient_detail, name="patient-detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="patient-edit"),
    path("<int:patient_id>/archive/", views.patient_archive_view, name="patient-archive"),
    path("<int:patient_id>/restore/", views.patient_restore_view, name="patient-restore"),
    path(
        "<int:patient_id>/consent/opt-in/",
        views.patient_consent_opt_in,
        name="patient-consent-opt-in",
    ),
    path(
        "<int:patient_id>/consent/opt-out/",
        views.patient_consent_opt_out,
        name="patient-consent-opt-out",
    ),
    # --- duplicates, merge and import (merge/import helper) ---
    path("<int:patient_id>/merge/", views_mi.patient_merge_view, name="patient-merge"),
    path("merges/", views_mi.patient_merges, name="patient-merges"),
    path("import/", views_mi.patients_import, name="patients-import"),
    path("import/<str:token>/", views_mi.patients_import_job, name="patients-import-job"),
    path("import/<str:token>/start/", views_mi.patients_import_start, name="patients-import-start"),
]
