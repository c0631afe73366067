from django.apps import AppConfig


class ProfileConfig(AppConfig):
    name = "shared_apps.profile"
    label = "profile"
    verbose_name = "Profile"
