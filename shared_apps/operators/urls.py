"""The operator console, on the public site only (included by drcrm.urls_public)."""

from django.urls import path

from shared_apps.operators import views

urlpatterns = [
    path("operator/sign-in/", views.operator_sign_in, name="operator-sign-in"),
    path(
        "operator/sign-in/two-factor/",
        views.operator_two_factor_verify,
        name="operator-two-factor-verify",
    ),
    path(
        "operator/sign-in/two-factor/set-up/",
        views.operator_two_factor_enrol,
        name="operator-two-factor-enrol",
    ),
    path("operator/sign-out/", views.operator_sign_out, name="operator-sign-out"),
    path("operator/", views.clinic_list, name="operator-clinics"),
    path("operator/clinics/new/", views.clinic_new, name="operator-clinic-create"),
    path("operator/clinics/<int:clinic_id>/", views.clinic_detail, name="operator-clinic"),
    path(
        "operator/clinics/<int:clinic_id>/suspend/",
        views.clinic_suspend_view,
        name="operator-clinic-suspend",
    ),
    path(
        "operator/clinics/<int:clinic_id>/resume/",
        views.clinic_resume_view,
        name="operator-clinic-resume",
    ),
    path("operator/tokens/", views.tokens, name="operator-tokens"),
    path(
        "operator/tokens/<int:token_id>/revoke/",
        views.token_revoke,
        name="operator-token-revoke",
    ),
]
