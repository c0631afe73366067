"""`/api/v1/staff/...`, included from the clinic's `/api/v1/`."""

from django.urls import path

from shared_apps.staff import api

urlpatterns = [
    path("staff/invites/", api.InviteListApi.as_view(), name="api-staff-invites"),
    path("staff/invites/<int:invite_id>/", api.InviteDetailApi.as_view(), name="api-staff-invite"),
    path(
        "staff/invites/<int:invite_id>/resend/",
        api.InviteResendApi.as_view(),
        name="api-staff-invite-resend",
    ),
    path("staff/members/", api.MemberListApi.as_view(), name="api-staff-members"),
    path(
        "staff/members/<int:membership_id>/",
        api.MemberDetailApi.as_view(),
        name="api-staff-member",
    ),
]
