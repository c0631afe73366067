"""Placeholder: filled in by the scheduling work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
