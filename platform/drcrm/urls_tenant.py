"""URLs on a clinic's host (<subdomain>.BASE_DOMAIN).

Every view declares who may open it (shared_apps/accounts/access.py); a test walks this
list and fails on any view that does not.
"""

from django.urls import URLPattern, URLResolver, include, path

from drcrm import views
from drcrm.api import ApiDocsView, ApiRootApi, ApiSchemaApi
from provisioning import views as provisioning_views
from shared_apps.accounts import views as account_views

api_v1: list[URLPattern | URLResolver] = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("schema/", ApiSchemaApi.as_view(), name="api-schema"),
    path("docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("tenant_apps.api_tokens.api_urls")),
    path("", include("shared_apps.staff.api_urls")),
    path("", include("tenant_apps.patients.api_urls")),
    path("", include("tenant_apps.scheduling.api_urls")),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sign-in/", account_views.sign_in, name="sign-in"),
    path("sign-out/", account_views.sign_out, name="sign-out"),
    # The new owner's hand-off from the public site's signup (provisioning/views.py).
    path("welcome/<str:token>/", provisioning_views.welcome, name="signup-welcome"),
    # Each app's pages, under the prefixes its urls.py spells out in full.
    path("", include("shared_apps.two_factor.urls")),  # sign-in/two-factor/, profile/two-factor/
    path("", include("shared_apps.staff.urls")),  # staff/, invite/<token>/
    path("", include("shared_apps.profile.urls")),  # profile/, password-reset/
    path("", include("tenant_apps.api_tokens.urls")),  # profile/api-tokens/
    path("patients/", include("tenant_apps.patients.urls")),
    path("calendar/", include("tenant_apps.scheduling.urls")),
    path("billing/", views.billing, name="billing"),
    path("settings/", include("shared_apps.clinics.urls")),
    path("api/v1/", include(api_v1)),
]

handler400 = "drcrm.errors.bad_request"
handler403 = "drcrm.errors.permission_denied"
handler404 = "drcrm.errors.page_not_found"
handler500 = "drcrm.errors.server_error"
