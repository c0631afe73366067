"""Placeholder: the calendar helper replaces this file (the coming-soon page until then)."""

from django.urls import URLPattern, path

from drcrm import views

urlpatterns: list[URLPattern] = [path("", views.calendar, name="calendar")]
