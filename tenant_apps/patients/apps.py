from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "tenant_apps.patients"
    label = "patients"
    verbose_name = "Patients"
