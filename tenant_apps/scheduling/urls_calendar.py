"""The calendar's pages under /calendar/: day and week views, today's list, booking, an
appointment's page and the endpoints its buttons and the drag-and-drop script call."""

from django.urls import URLPattern, path

from tenant_apps.scheduling import views

urlpatterns: list[URLPattern] = [
    path("", views.calendar, name="calendar"),
    path("week/", views.calendar_week, name="calendar-week"),
    path("today/", views.calendar_today, name="calendar-today"),
    path("book/", views.calendar_book, name="calendar-book"),
    path("book/patients/", views.calendar_book_patients, name="calendar-book-patients"),
    path(
        "appointments/<int:appointment_id>/",
        views.calendar_appointment,
        name="calendar-appointment",
    ),
    path(
        "appointments/<int:appointment_id>/status/",
        views.calendar_appointment_status,
        name="calendar-appointment-status",
    ),
    path(
        "appointments/<int:appointment_id>/reschedule/",
        views.calendar_appointment_reschedule,
        name="calendar-appointment-reschedule",
    ),
    path(
        "appointments/<int:appointment_id>/move/",
        views.calendar_appointment_move,
        name="calendar-appointment-move",
    ),
    path(
        "appointments/<int:appointment_id>/cancel/",
        views.calendar_appointment_cancel,
        name="calendar-appointment-cancel",
    ),
    path(
        "appointments/<int:appointment_id>/notes/",
        views.calendar_appointment_notes,
        name="calendar-appointment-notes",
    ),
]
