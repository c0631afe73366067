"""Request plumbing: request ids, health checks, and host -> clinic routing."""

from __future__ import annotations

import logging
import re
import uuid
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.urls import set_urlconf
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from drcrm import errors, health, request_context
from drcrm.tenancy import tenant_connection
from shared_apps.clinics.models import Clinic
from shared_apps.clinics.routing import RouteKind, resolve_host

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is echoed only if it is short and plain; anything else is replaced.
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class PublicSite:
    """`request.tenant` on the apex domain: the public schema, not a clinic."""

    schema_name = settings.PUBLIC_SCHEMA_NAME
    pk = None
    name = "DR. CRM"
    is_public = True
    domain_url = ""


class RequestContextMiddleware:
    """Gives each request an id (echoed in X-Request-ID and in every log line) and records
    where it came from, for audit rows written deeper down."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        source = "api" if request.path.startswith("/api/") else "web"
        # Not reset on the way out: Django logs 4xx/5xx responses after the last middleware
        # has returned, and those lines need the id too. The next request overwrites it.
        request_context.activate(
            request_context.RequestContext(
                request_id=request_id, client_ip=request.META.get("REMOTE_ADDR"), source=source
            )
        )
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class HealthCheckMiddleware:
    """Answers /healthz and /readyz on any host, before routing: load balancers probe by IP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return health.liveness()
        if request.path == "/readyz":
            return health.readiness()
        return self.get_response(request)


class ClinicRoutingMiddleware(TenantMainMiddleware):
    """Maps the Host header to a clinic (or the public site) and refuses what it can't serve.

    Replaces django-tenants' lookup with the cached one in shared_apps.clinics.routing and
    answers unknown, suspended and not-yet-ready clinics with pages of their own instead of
    falling back to the public site.
    """

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        """The validated host, lower case, without port, trailing dot or leading `www.`:
        DNS names are case-insensitive, and API clients do not always lower-case them."""
        domain, _port = split_domain_port(request.get_host())
        return str(remove_www(domain))

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        tenant_connection.set_schema_to_public()
        # Activation is per thread: a worker that served clinic A must not show B in A's zone.
        timezone.deactivate()
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return errors.error_response(request, 400, "bad_host")

        route = resolve_host(hostname)
        if route.kind is RouteKind.PUBLIC:
            request.tenant = PublicSite()  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None
        if route.kind is RouteKind.UNKNOWN:
            return errors.error_response(request, 404, "clinic_not_found")
        if route.kind is RouteKind.NO_SCHEMA:
            return errors.error_response(request, 404, "clinic_unavailable")

        clinic = route.clinic_for_request()
        if clinic.status == Clinic.Status.SUSPENDED:
            return errors.error_response(request, 403, "clinic_suspended")
        if clinic.status in (Clinic.Status.PROVISIONING, Clinic.Status.MAINTENANCE):
            # Never serve a schema that is being made or is behind the code's migrations.
            response = errors.error_response(request, 503, f"clinic_{clinic.status}")
            response["Retry-After"] = "10"
            return response

        clinic.domain_url = hostname
        request.tenant = clinic  # type: ignore[attr-defined]
        tenant_connection.set_tenant(clinic)
        # Every time a clinic's pages show is in the clinic's own zone (stored in UTC).
        timezone.activate(zoneinfo.ZoneInfo(clinic.time_zone))
        return None
