"""Signup on the public site (apex domain). The hand-off page (`welcome/<token>/`) is on
each clinic's own host: drcrm/urls_tenant.py."""

from django.urls import path

from provisioning import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/check-subdomain/", views.check_subdomain, name="signup-check-subdomain"),
    path("signup/verify/<str:token>/", views.verify, name="signup-verify"),
    path("signup/progress/<str:token>/", views.progress, name="signup-progress"),
    path("signup/progress/<str:token>/status", views.progress_status, name="signup-status"),
    path(
        "signup/progress/<str:token>/continue/",
        views.continue_to_clinic,
        name="signup-continue",
    ),
]
