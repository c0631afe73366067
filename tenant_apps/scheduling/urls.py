"""Calendar pages, under /calendar/ (every view declares its capability)."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    # The day and week views, today's list, booking and moving appointments.
    path("", include("tenant_apps.scheduling.urls_calendar")),
    # Practitioners, rooms, appointment types, working hours, leave and closures.
    path("setup/", include("tenant_apps.scheduling.urls_setup")),
    # Recurring series and the waitlist.
    path("", include("tenant_apps.scheduling.urls_series_waitlist")),
]
