from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "shared_apps.clinics"
    label = "clinics"
    verbose_name = "Clinic registry"

    def ready(self) -> None:
        from shared_apps.clinics import routing

        routing.connect_invalidation_signals()
