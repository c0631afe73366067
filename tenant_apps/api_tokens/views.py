"""The profile page where a member makes, sees and revokes their API tokens for this clinic."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from shared_apps.accounts.access import member_view
from shared_apps.accounts.models import User
from tenant_apps.api_tokens.forms import ApiTokenForm
from tenant_apps.api_tokens.selectors import api_tokens_of, get_api_token_for
from tenant_apps.api_tokens.services import api_token_create, api_token_revoke

# The new plain token waits here between the POST and the page that shows it, once.
NEW_TOKEN_KEY = "drcrm_new_api_token"  # noqa: S105 -- a session key name


@member_view
@never_cache  # the page may hold a plain token: no cache keeps a copy
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            token, plain_token = api_token_create(actor=user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Redirect, then show it: a reload re-sends nothing and shows nothing.
            request.session[NEW_TOKEN_KEY] = {"id": token.pk, "token": plain_token}
            return redirect("api-tokens")
    new_token = request.session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    context = {
        "form": form,
        "tokens": api_tokens_of(user=user),
        "new_token": new_token,
        "api_root": request.build_absolute_uri("/api/v1/"),
    }
    return render(
        request, "api_tokens/api_tokens.html", context, status=400 if form.errors else 200
    )


@member_view
@require_POST
def api_token_revoke_page(request: HttpRequest, token_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    token = get_api_token_for(user=user, token_id=token_id)
    api_token_revoke(actor=user, token=token)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api-tokens")
