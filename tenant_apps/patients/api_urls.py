"""`/api/v1/patients/`: the patient API (included from drcrm/urls_tenant.py)."""

from django.urls import URLPattern, path

from tenant_apps.patients import api

# `<int:patient_id>`: junk ids reach the view, which answers the same 404 as for no such id.
urlpatterns: list[URLPattern] = [
    path("patients/", api.PatientListApi.as_view(), name="api-patients"),
    path("patients/<int:patient_id>/", api.PatientDetailApi.as_view(), name="api-patient"),
    path(
        "patients/<int:patient_id>/archive/",
        api.PatientArchiveApi.as_view(),
        name="api-patient-archive",
    ),
    path(
        "patients/<int:patient_id>/restore/",
        api.PatientRestoreApi.as_view(),
        name="api-patient-restore",
    ),
    path(
        "patients/<int:patient_id>/consents/",
        api.PatientConsentsApi.as_view(),
        name="api-patient-consents",
    ),
]
