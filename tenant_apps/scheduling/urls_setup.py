"""Calendar setup pages under /calendar/setup/ (calendar.setup)."""

from django.urls import URLPattern, path

from tenant_apps.scheduling import views_setup as views

urlpatterns: list[URLPattern] = [
    path("", views.setup_overview, name="calendar-setup"),
    path(
        "practitioners/new/", views.setup_practitioner_new, name="calendar-setup-practitioner-new"
    ),
    path(
        "practitioners/<int:practitioner_id>/",
        views.setup_practitioner_edit,
        name="calendar-setup-practitioner",
    ),
    path(
        "practitioners/<int:practitioner_id>/hours/",
        views.setup_working_week,
        name="calendar-setup-hours",
    ),
    path(
        "practitioners/<int:practitioner_id>/exceptions/",
        views.setup_exceptions,
        name="calendar-setup-exceptions",
    ),
    path(
        "practitioners/<int:practitioner_id>/exceptions/<int:exception_id>/delete/",
        views.setup_exception_delete,
        name="calendar-setup-exception-delete",
    ),
    path("rooms/new/", views.setup_room_new, name="calendar-setup-room-new"),
    path("rooms/<int:room_id>/", views.setup_room_edit, name="calendar-setup-room"),
    path("types/new/", views.setup_type_new, name="calendar-setup-type-new"),
    path("types/<int:type_id>/", views.setup_type_edit, name="calendar-setup-type"),
    path("closures/", views.setup_closures, name="calendar-setup-closures"),
    path(
        "closures/<int:closure_id>/delete/",
        views.setup_closure_delete,
        name="calendar-setup-closure-delete",
    ),
]
