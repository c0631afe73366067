"""Recurring series and waitlist pages under /calendar/ (every view declares its capability)."""

from django.urls import URLPattern, path

from tenant_apps.scheduling import views_series_waitlist as views

urlpatterns: list[URLPattern] = [
    path("series/new/", views.series_new, name="calendar-series-new"),
    path(
        "appointments/<int:appointment_id>/series/",
        views.appointment_series,
        name="calendar-appointment-series",
    ),
    path("waitlist/", views.waitlist, name="calendar-waitlist"),
    path("waitlist/new/", views.waitlist_add, name="calendar-waitlist-add"),
    path("waitlist/<int:entry_id>/edit/", views.waitlist_edit, name="calendar-waitlist-edit"),
    path("waitlist/<int:entry_id>/remove/", views.waitlist_remove, name="calendar-waitlist-remove"),
    path("waitlist/offers/", views.waitlist_offers, name="calendar-waitlist-offers"),
    path(
        "waitlist/offers/<int:offer_id>/book/",
        views.waitlist_offer_book,
        name="calendar-waitlist-offer-book",
    ),
    path(
        "waitlist/offers/<int:offer_id>/dismiss/",
        views.waitlist_offer_dismiss_view,
        name="calendar-waitlist-offer-dismiss",
    ),
]
