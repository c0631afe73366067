"""One set of error pages for the whole product: HTML for people, JSON for the API.

Every 4xx the API returns has the same shape: {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from drcrm.context_processors import public_site_url


@dataclass(frozen=True)
class ErrorPage:
    title: str
    message: str


PAGES: dict[str, ErrorPage] = {
    "bad_request": ErrorPage("Bad request", "The request could not be understood."),
    "bad_host": ErrorPage(
        "Unknown address",
        "This address is not served by DR. CRM. Check the link you followed.",
    ),
    "clinic_not_found": ErrorPage(
        "No clinic at this address",
        "There is no clinic at this address. Check the spelling of the link, or ask "
        "your clinic for its DR. CRM address.",
    ),
    "clinic_unavailable": ErrorPage(
        "Clinic unavailable",
        "This clinic cannot be opened right now. The DR. CRM team has been told.",
    ),
    "clinic_suspended": ErrorPage(
        "This clinic is suspended",
        "Access to this clinic has been suspended. The clinic's owner can contact "
        "DR. CRM support to restore it.",
    ),
    "clinic_provisioning": ErrorPage(
        "Your clinic is being set up",
        "This clinic is still being set up. This page will work in a few seconds.",
    ),
    "clinic_maintenance": ErrorPage(
        "Your clinic is being upgraded",
        "DR. CRM is upgrading this clinic. It takes a moment; try again shortly.",
    ),
    "not_authenticated": ErrorPage("Sign-in required", "Sign in to continue."),
    "permission_denied": ErrorPage(
        "Not allowed", "Your role in this clinic does not allow this. Ask the clinic's owner."
    ),
    "not_found": ErrorPage("Page not found", "There is nothing at this address."),
    "server_error": ErrorPage(
        "Something went wrong",
        "We could not complete this request. It has been logged; please try again.",
    ),
}


def wants_json(request: HttpRequest) -> bool:
    return (
        request.path.startswith("/api/")
        or "application/json" in request.headers.get("Accept", "").split(",")[0]
    )


def error_body(
    code: str, message: str, fields: dict[str, list[str]] | None = None
) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(request: HttpRequest, status: int, code: str) -> HttpResponse:
    page = PAGES[code]
    if wants_json(request):
        return JsonResponse(error_body(code, page.message), status=status)
    # Rendered without a RequestContext: error pages must work when the session, the
    # database or the clinic could not be loaded.
    html = render_to_string(
        "errors/error.html", {"status": status, "page": page, "home_url": public_site_url()}
    )
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, "permission_denied")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, "not_found")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, 500, "server_error")
