from django.urls import path

from shared_apps.clinics import views

urlpatterns = [
    path("", views.clinic_settings, name="settings"),
]
