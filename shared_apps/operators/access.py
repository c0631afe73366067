"""`operator_view`: the access declaration of the operator console's pages.

Next to `public_view`/`member_view` (shared_apps/accounts/access.py), it declares
`OPERATOR` (the operator API's declaration too). Anyone who is not a signed-in operator
with a two-factor session is sent to the operator sign-in page: on the public site no
other kind of session exists (`ClinicMembershipMiddleware` ends them), and the console's
URLs exist only on the public site.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from shared_apps.accounts.access import OPERATOR
from shared_apps.accounts.middleware import on_public_site, operator_session_valid

logger = logging.getLogger(__name__)

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def operator_refusal(request: HttpRequest) -> HttpResponse | None:
    """None if `request` may open an operator page, else the refusal."""
    if not on_public_site(request):
        raise Http404("The operator console lives on the public site.")
    if operator_session_valid(request):
        return None
    if request.user.is_authenticated:
        # The middleware already ends such sessions; reaching here means a bug upstream.
        logger.warning("operator console refused user %s", request.user.pk)
    return redirect_to_login(request.get_full_path(), login_url=reverse("operator-sign-in"))


def operator_view(view: ViewT) -> ViewT:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = operator_refusal(request)
        if refusal is not None:
            return refusal
        return cast(HttpResponse, view(request, *args, **kwargs))

    guarded.access = OPERATOR  # type: ignore[attr-defined]
    return cast(ViewT, guarded)
