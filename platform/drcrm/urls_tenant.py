"""URLs on a clinic's host (<subdomain>.BASE_DOMAIN)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from drcrm import views
from drcrm.api import ApiRootApi

api_v1 = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("patients/", views.area_placeholder, {"area": "Patients"}, name="patients"),
    path("calendar/", views.area_placeholder, {"area": "Calendar"}, name="calendar"),
    path("billing/", views.area_placeholder, {"area": "Billing"}, name="billing"),
    path("settings/", views.area_placeholder, {"area": "Settings"}, name="settings"),
    path("api/v1/", include(api_v1)),
]

handler400 = "drcrm.errors.bad_request"
handler403 = "drcrm.errors.permission_denied"
handler404 = "drcrm.errors.page_not_found"
handler500 = "drcrm.errors.server_error"
