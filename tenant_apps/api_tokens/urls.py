from django.urls import path

from tenant_apps.api_tokens import views

urlpatterns = [
    path("profile/api-tokens/", views.api_tokens, name="api-tokens"),
    path(
        "profile/api-tokens/<int:token_id>/revoke/",
        views.api_token_revoke_page,
        name="api-token-revoke",
    ),
]
