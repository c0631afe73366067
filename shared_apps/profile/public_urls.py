"""Pages on the public site (apex domain)."""

from django.urls import path

from shared_apps.profile import views

urlpatterns = [
    path("find-my-clinic/", views.find_my_clinic, name="find-my-clinic"),
]
