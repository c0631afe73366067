from django.apps import AppConfig


class DrcrmConfig(AppConfig):
    name = "drcrm"
    verbose_name = "DR. CRM platform"

    def ready(self) -> None:
        from drcrm import checks  # noqa: F401 - registers the deployment checks
