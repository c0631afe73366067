from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "shared_apps.staff"
    label = "staff"
    verbose_name = "Staff"
