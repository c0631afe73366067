from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "tenant_apps.api_tokens"
    label = "api_tokens"
    verbose_name = "API tokens"
