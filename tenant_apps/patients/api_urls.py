"""`/api/v1/patients/`: the patient API (included from drcrm/urls_tenant.py)."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
