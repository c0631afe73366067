from django.urls import path

from shared_apps.two_factor import views

urlpatterns = [
    path("sign-in/two-factor/", views.two_factor_verify, name="two-factor-verify"),
    path("sign-in/two-factor/set-up/", views.two_factor_enrol, name="two-factor-enrol"),
    path("profile/two-factor/", views.two_factor_profile, name="two-factor"),
]
