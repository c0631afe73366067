from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "tenant_apps.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # Registers the waitlist's lifecycle listener and the patient-merge movers.
        from tenant_apps.scheduling import waitlist  # noqa: F401
