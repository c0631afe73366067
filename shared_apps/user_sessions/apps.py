from django.apps import AppConfig


class UserSessionsConfig(AppConfig):
    name = "shared_apps.user_sessions"
    label = "user_sessions"
    verbose_name = "Sessions"
