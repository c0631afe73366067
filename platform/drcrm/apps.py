from django.apps import AppConfig


class DrcrmConfig(AppConfig):
    name = "drcrm"
    verbose_name = "DR. CRM platform"
