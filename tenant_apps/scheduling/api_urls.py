"""`/api/v1/` calendar endpoints (included from drcrm/urls_tenant.py)."""

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    # appointments, practitioners, rooms, appointment types, working hours, availability
    path("", include("tenant_apps.scheduling.api_urls_core")),
    # appointment series and the waitlist
    path("", include("tenant_apps.scheduling.api_urls_series_waitlist")),
]
