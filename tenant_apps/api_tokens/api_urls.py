"""API token routes, included under /api/v1/."""

from django.urls import path

from tenant_apps.api_tokens.api import ApiTokenApi, ApiTokensApi

urlpatterns = [
    path("auth/tokens/", ApiTokensApi.as_view(), name="api-token-create"),
    path("auth/tokens/<int:token_id>/", ApiTokenApi.as_view(), name="api-token"),
]
