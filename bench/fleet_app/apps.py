from django.apps import AppConfig


class FleetAppConfig(AppConfig):
    name = "bench.fleet_app"
    label = "bench_fleet"
    default_auto_field = "django.db.models.BigAutoField"
