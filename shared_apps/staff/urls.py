"""The staff page, its actions (POST only) and the invite link's page."""

from django.urls import path

from shared_apps.staff import views

urlpatterns = [
    path("staff/", views.staff, name="staff"),
    path("staff/invites/", views.staff_invite_create, name="staff-invite-create"),
    path(
        "staff/invites/<int:invite_id>/resend/",
        views.staff_invite_resend,
        name="staff-invite-resend",
    ),
    path(
        "staff/invites/<int:invite_id>/revoke/",
        views.staff_invite_revoke,
        name="staff-invite-revoke",
    ),
    path(
        "staff/members/<int:membership_id>/role/",
        views.staff_member_role,
        name="staff-member-role",
    ),
    path(
        "staff/members/<int:membership_id>/deactivate/",
        views.staff_member_deactivate,
        name="staff-member-deactivate",
    ),
    path(
        "staff/members/<int:membership_id>/reactivate/",
        views.staff_member_reactivate,
        name="staff-member-reactivate",
    ),
    path("invite/<str:token>/", views.invite_accept_page, name="invite-accept"),
]
