"""URLs on the apex domain: the public site (landing, privacy policy)."""

from django.urls import path

from drcrm import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("privacy/", views.privacy, name="privacy"),
]

handler400 = "drcrm.errors.bad_request"
handler403 = "drcrm.errors.permission_denied"
handler404 = "drcrm.errors.page_not_found"
handler500 = "drcrm.errors.server_error"
