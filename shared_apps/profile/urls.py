"""Pages on a clinic's host: the signed-in person's own account, and password reset."""

from django.urls import path

from shared_apps.profile import views

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/email/<str:token>/", views.email_change_confirm, name="email-change-confirm"),
    path("profile/sessions/", views.sessions, name="profile-sessions"),
    path("profile/sessions/end/", views.session_end, name="profile-session-end"),
    path(
        "profile/sessions/end-others/",
        views.sessions_end_others,
        name="profile-sessions-end-others",
    ),
    path("password-reset/", views.password_reset, name="password-reset"),
    # Also serves the token-less form the link redirects to (/password-reset/new-password/).
    path(
        "password-reset/<str:token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
]
