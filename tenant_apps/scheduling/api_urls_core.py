"""`/api/v1/`: appointments, practitioners and their hours, rooms, appointment types,
clinic closures and availability (api.py and api_setup.py say who may call what)."""

from django.urls import URLPattern, path

from tenant_apps.scheduling import api, api_setup

urlpatterns: list[URLPattern] = [
    path("appointments/", api.AppointmentListApi.as_view(), name="api-appointments"),
    path(
        "appointments/<int:appointment_id>/",
        api.AppointmentDetailApi.as_view(),
        name="api-appointment",
    ),
    path(
        "appointments/<int:appointment_id>/reschedule/",
        api.AppointmentRescheduleApi.as_view(),
        name="api-appointment-reschedule",
    ),
    path(
        "appointments/<int:appointment_id>/cancel/",
        api.AppointmentCancelApi.as_view(),
        name="api-appointment-cancel",
    ),
    path(
        "appointments/<int:appointment_id>/status/",
        api.AppointmentStatusApi.as_view(),
        name="api-appointment-status",
    ),
    path("practitioners/", api_setup.PractitionerListApi.as_view(), name="api-practitioners"),
    path(
        "practitioners/<int:practitioner_id>/",
        api_setup.PractitionerDetailApi.as_view(),
        name="api-practitioner",
    ),
    path(
        "practitioners/<int:practitioner_id>/working-hours/",
        api_setup.WorkingHoursApi.as_view(),
        name="api-practitioner-working-hours",
    ),
    path(
        "practitioners/<int:practitioner_id>/exceptions/",
        api_setup.ScheduleExceptionListApi.as_view(),
        name="api-practitioner-exceptions",
    ),
    path(
        "practitioners/<int:practitioner_id>/exceptions/<int:exception_id>/",
        api_setup.ScheduleExceptionDetailApi.as_view(),
        name="api-practitioner-exception",
    ),
    path("clinic-closures/", api_setup.ClinicClosureListApi.as_view(), name="api-clinic-closures"),
    path(
        "clinic-closures/<int:closure_id>/",
        api_setup.ClinicClosureDetailApi.as_view(),
        name="api-clinic-closure",
    ),
    path("rooms/", api_setup.RoomListApi.as_view(), name="api-rooms"),
    path("rooms/<int:room_id>/", api_setup.RoomDetailApi.as_view(), name="api-room"),
    path(
        "appointment-types/",
        api_setup.AppointmentTypeListApi.as_view(),
        name="api-appointment-types",
    ),
    path(
        "appointment-types/<int:appointment_type_id>/",
        api_setup.AppointmentTypeDetailApi.as_view(),
        name="api-appointment-type",
    ),
    path("availability/", api.AvailabilityApi.as_view(), name="api-availability"),
]
