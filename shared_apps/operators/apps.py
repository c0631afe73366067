from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    name = "shared_apps.operators"
    label = "operators"
    verbose_name = "Platform operators"
