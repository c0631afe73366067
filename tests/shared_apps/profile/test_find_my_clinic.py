"""Find my clinic (public site): a list of one's clinics by email, and nothing for anyone else."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_tenants.utils import get_public_schema_name, schema_context

from drcrm.mail import clinic_url
from shared_apps.accounts.models import Membership
from shared_apps.clinics.models import Clinic
from shared_apps.profile.services import find_my_clinic_throttle_key
from tests.support.mailbox import links_in

pytestmark = pytest.mark.django_db

SENT = b"If that address belongs to DR. CRM staff, we've sent a list of their clinics."


def forget_limit(email):
    """Drop the address's 10-minute limit: the clock moved on (or an earlier run set it)."""
    # Keys carry the schema they were written from; the page runs on the public site.
    with schema_context(get_public_schema_name()):
        cache.delete(find_my_clinic_throttle_key(email))


@pytest.fixture
def ask(public_client, django_capture_on_commit_callbacks):
    """`ask(email)`: submit the form on the public site, running after-commit work.

    The limit lives in Redis, which no test transaction rolls back, and test addresses
    repeat from run to run: each address starts without one and leaves none behind.
    """
    asked: set[str] = set()

    def post(email):
        if email.lower() not in asked:
            asked.add(email.lower())
            forget_limit(email)
        with django_capture_on_commit_callbacks(execute=True):
            return public_client.post("/find-my-clinic/", {"email": email})

    yield post
    for email in asked:
        forget_limit(email)


def test_the_page_sets_no_cookie(public_client):
    response = public_client.get("/find-my-clinic/")
    assert response.status_code == 200
    assert b'name="email"' in response.content
    assert response.cookies == {}


def test_the_email_lists_the_clinics_of_the_address_with_their_sign_in_links(
    clinic_a, clinic_b, person, ask, mailbox
):
    user = person(clinic_a)
    response = ask(user.email.upper())
    assert response.status_code == 200
    assert SENT in response.content
    assert response.cookies == {}
    [message] = mailbox
    assert message.to == [user.email]
    assert "MARK-A Smile Dental" in message.body
    assert clinic_url(clinic_a, "/sign-in/") in links_in(message)
    assert "MARK-B" not in message.body
    assert clinic_url(clinic_b, "/sign-in/") not in message.body
    html = message.alternatives[0][0]
    assert clinic_url(clinic_a, "/sign-in/") in html


def test_only_active_memberships_in_open_clinics_are_listed(
    clinic_a, clinic_b, person, ask, mailbox
):
    user = person(clinic_a, clinic_b)
    Membership.objects.filter(user=user, clinic=clinic_b).update(is_active=False)
    ask(user.email)
    assert "MARK-A" in mailbox[0].body
    assert "MARK-B" not in mailbox[0].body

    forget_limit(user.email)
    Membership.objects.filter(user=user, clinic=clinic_b).update(is_active=True)
    Clinic.objects.filter(pk=clinic_b.pk).update(status=Clinic.Status.SUSPENDED)
    ask(user.email)
    assert "MARK-A" in mailbox[1].body
    assert "MARK-B" not in mailbox[1].body


def test_a_person_in_two_clinics_gets_both(clinic_a, clinic_b, person, ask, mailbox):
    user = person(clinic_a, clinic_b)
    ask(user.email)
    [message] = mailbox
    links = links_in(message)
    assert clinic_url(clinic_a, "/sign-in/") in links
    assert clinic_url(clinic_b, "/sign-in/") in links


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(
    clinic_a, clinic_b, person, ask, mailbox
):
    member = person(clinic_a)
    without_clinic = person()
    suspended_only = person(clinic_b)
    Clinic.objects.filter(pk=clinic_b.pk).update(status=Clinic.Status.SUSPENDED)
    emails = (member.email, without_clinic.email, suspended_only.email, "nobody@example.com")
    responses = [ask(email) for email in emails]
    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert [message.to for message in mailbox] == [[member.email]]


def test_at_most_one_email_per_address_every_ten_minutes(clinic_a, person, ask, mailbox):
    user = person(clinic_a)
    first, second = ask(user.email), ask(user.email.upper())
    assert first.content == second.content
    assert len(mailbox) == 1
    forget_limit(user.email)  # ten minutes later
    ask(user.email)
    assert len(mailbox) == 2
    # The provider sees one idempotency key per address and ten minutes, too.
    key = mailbox[0].extra_headers["Idempotency-Key"]
    assert key.startswith(f"find-my-clinic/{user.pk}/")


def test_the_limit_of_one_address_does_not_hold_up_another(clinic_a, person, ask, mailbox):
    ask(person(clinic_a).email)
    ask(person(clinic_a).email)
    assert len(mailbox) == 2


def test_without_redis_the_email_still_goes_out(
    clinic_a, person, public_client, mailbox, settings, caplog, django_capture_on_commit_callbacks
):
    user = person(clinic_a)
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/find-my-clinic/", {"email": user.email})
    assert response.status_code == 200
    assert len(mailbox) == 1
    assert "cache unavailable" in caplog.text


def test_a_malformed_address_is_a_field_error(ask, mailbox):
    response = ask("someone@")
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert mailbox == []


def test_the_page_is_not_served_on_a_clinic_host(clinic_a, clinic_client):
    assert clinic_client(clinic_a).get("/find-my-clinic/").status_code == 404
