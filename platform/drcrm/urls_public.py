"""URLs on the apex domain: the public site (landing, privacy policy, find my clinic) and
the operator console."""

from django.urls import include, path

from drcrm import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("privacy/", views.privacy, name="privacy"),
    path("", include("shared_apps.profile.public_urls")),
    path("", include("provisioning.urls")),  # signup/...
    path("", include("shared_apps.operators.urls")),
    # The operators' API (Bearer operator tokens only): shared_apps/operators/api.py.
    path("api/platform/v1/", include("shared_apps.operators.api_urls")),
]

handler400 = "drcrm.errors.bad_request"
handler403 = "drcrm.errors.permission_denied"
handler404 = "drcrm.errors.page_not_found"
handler500 = "drcrm.errors.server_error"
