"""`/api/platform/v1/...` on the public site, included from drcrm/urls_public.py."""

from django.urls import URLPattern, include, path

from shared_apps.operators import api

PLATFORM_API_PREFIX = "api/platform/v1/"

clinic_patterns: list[URLPattern] = [
    path("clinics/", api.ClinicListApi.as_view(), name="platform-api-clinics"),
    path("clinics/<str:subdomain>/", api.ClinicDetailApi.as_view(), name="platform-api-clinic"),
    path(
        "clinics/<str:subdomain>/suspend/",
        api.ClinicSuspendApi.as_view(),
        name="platform-api-clinic-suspend",
    ),
    path(
        "clinics/<str:subdomain>/resume/",
        api.ClinicResumeApi.as_view(),
        name="platform-api-clinic-resume",
    ),
]

urlpatterns = [
    *clinic_patterns,
    path(
        "schema/",
        # The schema generator sees the platform endpoints only, under their real prefix.
        api.PlatformSchemaApi.as_view(
            patterns=[path(PLATFORM_API_PREFIX, include(clinic_patterns))]
        ),
        name="platform-api-schema",
    ),
]
