"""Patient pages, under /patients/ (every view declares its capability)."""

from django.urls import URLPattern, path  # noqa: F401

from tenant_apps.patients import views  # noqa: F401

urlpatterns: list[URLPattern] = [
    # --- list, search and export (search helper) ---
    # --- the patient page, create, edit, archive, consent (record helper) ---
    # --- duplicates, merge and import (merge/import helper) ---
]
