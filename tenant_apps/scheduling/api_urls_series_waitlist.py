"""`/api/v1/appointment-series/` and `/api/v1/waitlist/` (included from api_urls.py)."""

from django.urls import URLPattern, path

from tenant_apps.scheduling import api_series_waitlist as api

# `<int:...>`: junk ids never reach the views; ids beyond bigint answer the same 404.
urlpatterns: list[URLPattern] = [
    path("appointment-series/", api.SeriesCreateApi.as_view(), name="api-series"),
    path(
        "appointment-series/<int:series_id>/",
        api.SeriesDetailApi.as_view(),
        name="api-series-detail",
    ),
    path(
        "appointment-series/<int:series_id>/cancel/",
        api.SeriesCancelApi.as_view(),
        name="api-series-cancel",
    ),
    path(
        "appointment-series/<int:series_id>/reschedule/",
        api.SeriesRescheduleApi.as_view(),
        name="api-series-reschedule",
    ),
    path("waitlist/", api.WaitlistListApi.as_view(), name="api-waitlist"),
    path("waitlist/offers/", api.WaitlistOffersApi.as_view(), name="api-waitlist-offers"),
    path(
        "waitlist/offers/<int:offer_id>/book/",
        api.WaitlistOfferBookApi.as_view(),
        name="api-waitlist-offer-book",
    ),
    path(
        "waitlist/offers/<int:offer_id>/dismiss/",
        api.WaitlistOfferDismissApi.as_view(),
        name="api-waitlist-offer-dismiss",
    ),
    path("waitlist/<int:entry_id>/", api.WaitlistDetailApi.as_view(), name="api-waitlist-entry"),
]
