"""Self-service signup on the public site: form, email link, creation, hand-off.

Most tests run in the test's rolled-back transaction with `mailbox` (Celery eager, email
to the locmem outbox): on-commit callbacks run when `django_capture_on_commit_callbacks`
ends, so the provisioning task runs there, in this process, through the real service. One
test runs the whole flow through the real Celery worker, on committed rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from drcrm.link_tokens import link_token_hash
from provisioning import signup as signups
from provisioning.models import ClinicSignup
from provisioning.services import ProvisioningStep
from provisioning.signup_selectors import progress_cache_key
from shared_apps.accounts.models import Membership, Role, User
from shared_apps.clinics.models import Clinic
from shared_apps.two_factor.models import TotpDevice
from tests import factories
from tests.platform.conftest import CeleryWorker, celery_worker  # noqa: F401
from tests.support.committed import run_committed
from tests.support.fake_resend import FakeResend
from tests.support.mailbox import links_in

pytestmark = pytest.mark.django_db

PASSWORD = "tidal lantern 4821 quay"
FORM = {
    "clinic_name": "Harbour Dental",
    "subdomain": "harbour-dental",
    "clinic_type": "dental",
    "owner_name": "Hana Harbour",
    "email": "hana@harbour.example",
    "password": PASSWORD,
    "country": "PT",
    "time_zone": "",
    "currency": "",
}


@pytest.fixture
def submit(
    public_client: Client, mailbox: list[Any], django_capture_on_commit_callbacks: Any
) -> Callable[..., Any]:
    """`submit(**changes)`: POST the signup form; on-commit work (email) runs as on commit."""

    def post(**changes: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return public_client.post("/signup/", {**FORM, **changes})

    return post


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """`commit(fn, *args)`: call fn, then run its on-commit callbacks (tasks, emails)."""

    def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def verify_link(message: Any) -> str:
    [link] = [link for link in links_in(message) if "/signup/verify/" in link]
    return link


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def no_cookies(response: Any) -> None:
    assert not response.cookies, f"cookies set: {list(response.cookies)}"


def clinic_client_for(subdomain: str) -> Client:
    return Client(HTTP_HOST=f"{subdomain}.{settings.BASE_DOMAIN}")


# --- the form -----------------------------------------------------------------------------


def test_the_form_opens_from_the_landing_page_without_a_cookie(public_client):
    landing = public_client.get("/")
    assert 'href="/signup/"' in landing.content.decode()
    response = public_client.get("/signup/")
    assert response.status_code == 200
    no_cookies(response)
    page = response.content.decode()
    for name in ("clinic_name", "subdomain", "owner_name", "email", "password", "country"):
        assert f'name="{name}"' in page
    assert '<option value="Europe/Lisbon">' in page
    assert 'value="dental"' in page
    assert 'value="medical"' in page
    assert "provisioning/signup.js" in page
    assert 'id="country-defaults"' in page


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("Demo", "Use lower case letters only."),
        ("demo-", "Use 3 to 40"),
        ("xn--80ak6aa92e", "Use 3 to 40"),
        ("a" * 64, "Use 3 to 40"),
        ("d\u0435mo", "Use 3 to 40"),  # a Cyrillic "e" that looks like "demo"
        ("ab", "Use 3 to 40"),
        ("www", "This address is reserved."),
        ("clinic-a", "This address is already taken."),
        ("", "This field is required."),
    ],
)
def test_a_bad_subdomain_gets_a_field_error_and_keeps_what_was_typed(submit, subdomain, message):
    response = submit(subdomain=subdomain)
    assert response.status_code == 400
    no_cookies(response)
    page = response.content.decode()
    [error] = re.findall(r'data-testid="error-subdomain">([^<]*)<', page)
    assert message in error
    assert 'value="Harbour Dental"' in page
    assert 'value="hana@harbour.example"' in page
    assert PASSWORD not in page  # the password is never echoed back
    assert not ClinicSignup.objects.exists()


def test_weak_passwords_and_missing_fields_are_field_errors(submit):
    response = submit(password="harbour", country="", clinic_type="", email="not-an-email")
    assert response.status_code == 400
    page = response.content.decode()
    for field in ("password", "country", "clinic_type", "email"):
        assert f'data-testid="error-{field}"' in page, field
    assert 'data-testid="error-time_zone"' not in page  # "choose a country" says it all
    assert not ClinicSignup.objects.exists()


def test_a_signup_is_recorded_with_hashes_only_and_a_verification_email(submit, mailbox):
    response = submit()
    assert response.status_code == 200
    no_cookies(response)
    assert "Check your email" in response.content.decode()
    signup = ClinicSignup.objects.get()
    assert signup.status == ClinicSignup.Status.PENDING
    assert (signup.subdomain, signup.clinic_type, signup.country) == (
        "harbour-dental",
        "dental",
        "PT",
    )
    # Defaults from the country.
    assert (signup.time_zone, signup.currency) == ("Europe/Lisbon", "EUR")
    assert PASSWORD not in signup.password_hash
    assert User(password=signup.password_hash).check_password(PASSWORD)
    remaining = signup.verification_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < remaining <= timedelta(hours=24)
    [message] = mailbox
    assert message.to == ["hana@harbour.example"]
    assert "Harbour Dental" in message.subject
    link = verify_link(message)
    assert link_token_hash(token_of(link)) == signup.verification_token_hash
    assert "harbour-dental.localhost" in message.body
    html = message.alternatives[0][0]
    assert link in html


def test_an_explicit_time_zone_and_currency_win_over_the_country(submit):
    submit(time_zone="Atlantic/Madeira", currency="usd")
    signup = ClinicSignup.objects.get()
    assert (signup.time_zone, signup.currency) == ("Atlantic/Madeira", "USD")


def test_a_pending_signup_reserves_its_subdomain(submit, public_client):
    submit()
    check = public_client.get("/signup/check-subdomain/", {"subdomain": "harbour-dental"})
    assert check.json() == {"available": False, "message": "This address is already taken."}
    other = submit(email="someone.else@example.com")
    assert other.status_code == 400
    assert "This address is already taken." in other.content.decode()
    assert ClinicSignup.objects.count() == 1


def test_an_expired_reservation_frees_the_subdomain(submit, public_client):
    submit()
    ClinicSignup.objects.update(verification_expires_at=timezone.now() - timedelta(seconds=1))
    check = public_client.get("/signup/check-subdomain/", {"subdomain": "harbour-dental"})
    assert check.json()["available"] is True
    assert submit(email="someone.else@example.com").status_code == 200


def test_the_live_check_answers_for_every_kind_of_address(public_client):
    def check(value: str) -> dict[str, Any]:
        response = public_client.get("/signup/check-subdomain/", {"subdomain": value})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        no_cookies(response)
        return dict(response.json())

    assert check("bright-smiles") == {"available": True, "message": "This address is available."}
    assert check("clinic-a") == {"available": False, "message": "This address is already taken."}
    assert check("Demo")["message"] == "Use lower case letters only."
    assert check("www")["message"] == "This address is reserved."
    assert "Use 3 to 40" in check("xn--80ak6aa92e")["message"]
    assert "Use 3 to 40" in check("x" * 300)["message"]
    assert check("")["available"] is False


def test_submitting_again_resends_a_new_link_and_the_old_one_dies(submit, mailbox, public_client):
    submit()
    signup = ClinicSignup.objects.get()
    signups.cooldown_forget(signup)  # as if the person came back a while later
    assert submit(clinic_name="Harbour Dental Care").status_code == 200
    assert ClinicSignup.objects.count() == 1
    first, second = mailbox
    assert verify_link(first) != verify_link(second)
    assert public_client.get(path_of(verify_link(first))).status_code == 404
    page = public_client.get(path_of(verify_link(second)))
    assert page.status_code == 200
    assert "Harbour Dental Care" in page.content.decode()


def test_one_address_cannot_hold_more_than_three_pending_signups(submit, mailbox):
    for n in range(3):
        assert submit(subdomain=f"harbour-{n}").status_code == 200
    refused = submit(subdomain="harbour-3")
    assert refused.status_code == 400
    assert 'data-testid="error-email"' in refused.content.decode()
    assert ClinicSignup.objects.count() == 3
    assert submit(subdomain="harbour-0").status_code == 200  # its own: re-sent (cooldown)


def test_a_double_clicked_submit_makes_one_signup_and_one_email(submit, mailbox):
    assert submit().status_code == 200
    assert submit().status_code == 200
    assert ClinicSignup.objects.count() == 1
    assert len(mailbox) == 1


# --- the emailed link ---------------------------------------------------------------------


def test_opening_the_link_changes_nothing(submit, mailbox, public_client):
    submit()
    response = public_client.get(path_of(verify_link(mailbox[0])))
    assert response.status_code == 200
    no_cookies(response)
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Confirm and create my clinic" in response.content.decode()
    assert ClinicSignup.objects.get().status == ClinicSignup.Status.PENDING
    assert not User.objects.filter(email__iexact=FORM["email"]).exists()
    assert not Clinic.objects.filter(subdomain="harbour-dental").exists()


def test_confirming_creates_the_account_and_the_clinic(submit, mailbox, public_client, commit):
    submit()
    link = path_of(verify_link(mailbox[0]))
    response = commit(public_client.post, link)
    assert response.status_code == 302
    no_cookies(response)
    assert response["Location"].startswith("/signup/progress/")

    signup = ClinicSignup.objects.get()
    assert signup.status == ClinicSignup.Status.COMPLETED
    assert signup.verified_at is not None
    assert signup.completed_at is not None
    assert signup.progress_token_hash == link_token_hash(token_of(response["Location"]))
    clinic = signup.clinic
    assert clinic is not None
    assert clinic.status == Clinic.Status.ACTIVE
    assert (clinic.name, clinic.subdomain, clinic.time_zone, clinic.currency, clinic.country) == (
        "Harbour Dental",
        "harbour-dental",
        "Europe/Lisbon",
        "EUR",
        "PT",
    )
    user = User.objects.get(email__iexact=FORM["email"])
    assert user.full_name == "Hana Harbour"
    assert user.check_password(PASSWORD)
    assert Membership.objects.get(user=user, clinic=clinic).role == Role.OWNER

    progress = public_client.get(response["Location"])
    assert progress.status_code == 200
    no_cookies(progress)
    assert "Harbour Dental is ready" in progress.content.decode()
    status = public_client.get(response["Location"] + "status")
    no_cookies(status)
    body = status.json()
    assert body["state"] == "completed"
    assert body["percent"] == 100
    assert body["continue_url"] == response["Location"] + "continue/"
    assert [step["label"] for step in body["steps"]] == [step.label for step in ProvisioningStep]


def test_a_used_link_leads_back_to_the_same_progress_page(submit, mailbox, public_client, commit):
    submit()
    link = path_of(verify_link(mailbox[0]))
    first = commit(public_client.post, link)
    again_get = public_client.get(link)
    again_post = commit(public_client.post, link)
    assert again_get["Location"] == again_post["Location"] == first["Location"]
    assert Clinic.objects.filter(subdomain="harbour-dental").count() == 1
    assert User.objects.filter(email__iexact=FORM["email"]).count() == 1


def test_an_expired_link_says_so_and_sends_a_new_one_for_the_same_details(
    submit, mailbox, public_client, commit
):
    submit()
    old = path_of(verify_link(mailbox[0]))
    ClinicSignup.objects.update(verification_expires_at=timezone.now() - timedelta(minutes=1))
    page = public_client.get(old)
    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert 'value="harbour-dental"' in page.content.decode()
    assert not User.objects.filter(email__iexact=FORM["email"]).exists()

    renewed = commit(public_client.post, old, {"subdomain": "harbour-dental"})
    assert renewed.status_code == 200
    assert "Check your email" in renewed.content.decode()
    assert public_client.get(old).status_code == 404
    new = path_of(verify_link(mailbox[1]))
    assert commit(public_client.post, new).status_code == 302
    signup = ClinicSignup.objects.get()
    assert signup.status == ClinicSignup.Status.COMPLETED
    assert User.objects.get(email__iexact=FORM["email"]).check_password(PASSWORD)


def test_renewing_an_expired_link_refuses_an_address_taken_meanwhile(
    submit, mailbox, public_client, commit
):
    submit()
    old = path_of(verify_link(mailbox[0]))
    ClinicSignup.objects.update(verification_expires_at=timezone.now() - timedelta(minutes=1))
    submit(email="quicker@example.com")  # someone else reserves the freed address
    refused = commit(public_client.post, old, {"subdomain": "harbour-dental"})
    assert refused.status_code == 400
    assert "This address is already taken." in refused.content.decode()
    assert commit(public_client.post, old, {"subdomain": "harbour-dental-2"}).status_code == 200


def test_unknown_and_junk_links_are_404(public_client):
    for token in ("not-a-token", "x" * 300, "%00"):
        assert public_client.get(f"/signup/verify/{token}/").status_code == 404
        assert public_client.get(f"/signup/progress/{token}/").status_code == 404
        assert public_client.get(f"/signup/progress/{token}/status").status_code == 404
        assert public_client.post(f"/signup/progress/{token}/continue/").status_code == 404


# --- failures -----------------------------------------------------------------------------


def test_an_address_taken_before_creation_lets_the_person_pick_another(
    submit, mailbox, public_client, commit
):
    submit()
    link = path_of(verify_link(mailbox[0]))
    # An operator creates a clinic at that address between the form and the confirmation.
    factories.clinic_make(subdomain="harbour-dental", name="Operator's clinic")
    progress_url = commit(public_client.post, link)["Location"]

    signup = ClinicSignup.objects.get()
    assert signup.status == ClinicSignup.Status.FAILED
    assert signup.failure_reason == "This address is already taken."
    page = public_client.get(progress_url)
    text = page.content.decode()
    assert "We could not create Harbour Dental" in text
    assert 'data-testid="failure-reason">This address is already taken.' in text
    assert 'data-testid="retry-form"' in text
    assert public_client.get(progress_url + "status").json()["state"] == "failed"

    still_taken = commit(public_client.post, progress_url, {"subdomain": "harbour-dental"})
    assert still_taken.status_code == 400
    retried = commit(public_client.post, progress_url, {"subdomain": "harbour-dental-lisbon"})
    assert retried.status_code == 302
    signup.refresh_from_db()
    assert signup.status == ClinicSignup.Status.COMPLETED
    assert signup.clinic is not None
    assert signup.clinic.subdomain == "harbour-dental-lisbon"
    assert signup.clinic.name == "Harbour Dental"  # nothing re-entered
    user = User.objects.get(email__iexact=FORM["email"])
    assert Membership.objects.filter(user=user, clinic=signup.clinic, role=Role.OWNER).exists()


def test_a_task_for_a_signup_already_done_does_nothing(submit, mailbox, public_client, commit):
    submit()
    commit(public_client.post, path_of(verify_link(mailbox[0])))
    signup = ClinicSignup.objects.get()
    assert signups.signup_provision(signup_id=signup.pk) == ClinicSignup.Status.COMPLETED
    assert Clinic.objects.filter(subdomain="harbour-dental").count() == 1


def test_progress_says_so_when_no_worker_has_started(submit, mailbox, public_client):
    submit()
    token = token_of(verify_link(mailbox[0]))
    signup = ClinicSignup.objects.get()
    # Verified, but the task never ran (on-commit callbacks not executed: no worker).
    signups.signup_verify(signup=signup, token=token)
    progress = f"/signup/progress/{signups.progress_token_for(token)}/"
    waiting = public_client.get(progress + "status").json()
    assert waiting["state"] == "waiting"
    assert "Waiting for our servers" in waiting["message"]
    page = public_client.get(progress).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in page  # reloads itself without JS

    ClinicSignup.objects.update(verified_at=timezone.now() - timedelta(minutes=1))
    from django.core.cache import cache

    cache.delete(progress_cache_key(signup.pk))
    slow = public_client.get(progress + "status").json()
    assert slow["state"] == "waiting"
    assert "taking longer than usual" in slow["message"]

    cache.set(progress_cache_key(signup.pk), {"step": "schema"}, 60)
    running = public_client.get(progress + "status").json()
    assert running["state"] == "running"
    assert running["message"] == "Creating the clinic's database…"
    states = [step["state"] for step in running["steps"]]
    assert states == ["done", "done", "done", "current", "todo", "todo", "todo"]


# --- hand-off -----------------------------------------------------------------------------


@pytest.fixture
def completed(submit, mailbox, public_client, commit) -> str:
    """A completed signup; returns its progress page's path."""
    submit()
    response = commit(public_client.post, path_of(verify_link(mailbox[0])))
    assert ClinicSignup.objects.get().status == ClinicSignup.Status.COMPLETED
    return str(response["Location"])


def test_the_owner_lands_signed_in_on_the_dashboard_once(completed, public_client):
    go = public_client.post(completed + "continue/")
    assert go.status_code == 302
    no_cookies(go)
    welcome = go["Location"]
    assert welcome.startswith("http://harbour-dental.localhost:8000/welcome/")
    owner = clinic_client_for("harbour-dental")
    landed = owner.get(path_of(welcome))
    assert landed.status_code == 302
    assert landed["Location"] == "/"
    dashboard = owner.get("/")
    assert dashboard.status_code == 200
    assert "Good to see you, Hana Harbour" in dashboard.content.decode()
    assert "Welcome to Harbour Dental!" in dashboard.content.decode()

    stranger = clinic_client_for("harbour-dental")
    assert stranger.get(path_of(welcome)).status_code == 410  # single use
    # The progress page no longer signs anyone in: it points at the sign-in page.
    again = public_client.post(completed + "continue/")
    assert again["Location"] == "http://harbour-dental.localhost:8000/sign-in/"


def test_a_handoff_expires_after_two_minutes(completed, public_client):
    welcome = public_client.post(completed + "continue/")["Location"]
    ClinicSignup.objects.update(handoff_expires_at=timezone.now() - timedelta(seconds=1))
    late = clinic_client_for("harbour-dental").get(path_of(welcome))
    assert late.status_code == 410
    assert "expired or was already used" in late.content.decode()


def test_a_handoff_of_one_clinic_does_nothing_on_another(completed, public_client, clinic_a):
    welcome = public_client.post(completed + "continue/")["Location"]
    elsewhere = clinic_client_for("clinic-a")
    response = elsewhere.get(path_of(welcome))
    assert response.status_code == 404
    assert "_auth_user_id" not in elsewhere.session
    # Not spent by the attempt: it still works where it belongs.
    assert clinic_client_for("harbour-dental").get(path_of(welcome)).status_code == 302


def test_the_hand_off_is_never_a_link_a_crawler_can_follow(completed, public_client):
    assert public_client.get(completed + "continue/").status_code == 405
    page = public_client.get(completed).content.decode()
    assert re.search(r'<form method="post" action="[^"]+/continue/"', page)


def test_an_existing_account_keeps_its_password_and_its_second_factor(
    submit, mailbox, public_client, commit
):
    existing = factories.user_create(email="Hana@Harbour.example", full_name="Hana H.")
    old_hash = existing.password
    TotpDevice.objects.create(user=existing, secret="sealed", confirmed_at=timezone.now())
    submit()
    progress = commit(public_client.post, path_of(verify_link(mailbox[0])))["Location"]
    signup = ClinicSignup.objects.get()
    assert signup.status == ClinicSignup.Status.COMPLETED
    existing.refresh_from_db()
    assert existing.password == old_hash  # the password typed at signup is not applied
    assert User.objects.filter(email__iexact=FORM["email"]).count() == 1
    assert Membership.objects.get(user=existing, clinic=signup.clinic).role == Role.OWNER
    # Their authenticator is not bypassed: off to the sign-in page, no hand-off minted.
    go = public_client.post(progress + "continue/")
    assert go["Location"] == "http://harbour-dental.localhost:8000/sign-in/"
    signup.refresh_from_db()
    assert signup.handoff_token_hash == ""


def test_an_operator_address_cannot_own_a_clinic(submit, mailbox, public_client, commit):
    factories.user_create(email=FORM["email"], is_operator=True)
    submit()
    progress = commit(public_client.post, path_of(verify_link(mailbox[0])))["Location"]
    assert ClinicSignup.objects.get().status == ClinicSignup.Status.FAILED
    assert not Clinic.objects.filter(subdomain="harbour-dental").exists()
    page = public_client.get(progress).content.decode()
    assert "cannot own a new clinic" in page
    assert 'data-testid="retry-form"' not in page


def test_markup_in_the_clinic_name_is_shown_as_text(submit, mailbox, public_client, commit):
    name = '<script>alert("x")</script> Clinic'
    submit(clinic_name=name)
    [message] = mailbox
    html = message.alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    link = path_of(verify_link(message))
    confirm = public_client.get(link).content.decode()
    assert "<script>alert" not in confirm
    assert "&lt;script&gt;alert" in confirm
    progress = commit(public_client.post, link)["Location"]
    page = public_client.get(progress).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    welcome = public_client.post(progress + "continue/")["Location"]
    owner = clinic_client_for("harbour-dental")
    owner.get(path_of(welcome))
    dashboard = owner.get("/").content.decode()
    assert "<script>alert" not in dashboard
    assert "&lt;script&gt;alert" in dashboard


# --- the real worker ----------------------------------------------------------------------


@pytest.fixture
def worker_signup_cleanup() -> Iterator[None]:
    yield

    def undo() -> None:
        for clinic in Clinic.objects.filter(subdomain__startswith="worker-made"):
            with schema_context("public"):
                clinic.delete(force_drop=True)
        ClinicSignup.objects.filter(owner_email="wanda@worker.example").delete()
        User.objects.filter(email="wanda@worker.example").delete()

    run_committed(undo)


def test_the_whole_flow_through_the_real_worker(
    celery_worker: CeleryWorker,  # noqa: F811
    fake_resend: FakeResend,
    worker_signup_cleanup: None,
) -> None:
    assert connection.in_atomic_block  # the test's own transaction stays out of it
    public = Client(HTTP_HOST=settings.BASE_DOMAIN)
    form = {**FORM, "subdomain": "worker-made", "email": "wanda@worker.example"}
    assert run_committed(lambda: public.post("/signup/", form).status_code) == 200

    [email] = fake_resend.wait_for_emails(1)
    [link] = re.findall(r"https?://\S+/signup/verify/\S+/", email.body["text"])
    progress = run_committed(lambda: public.post(path_of(link))["Location"])

    deadline = time.monotonic() + 60
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = run_committed(lambda: public.get(progress + "status").json())
        if status["state"] in ("completed", "failed"):
            break
        time.sleep(0.1)
    assert status["state"] == "completed", (status, celery_worker.log_tail())

    welcome = run_committed(lambda: public.post(progress + "continue/")["Location"])
    owner = clinic_client_for("worker-made")

    def land() -> tuple[int, str]:
        owner.get(path_of(welcome))
        response = owner.get("/")
        return response.status_code, response.content.decode()

    code, page = run_committed(land)
    assert code == 200
    assert "Good to see you, Hana Harbour" in page
