"""Whatever is typed into a calendar address or form, the answer is a page or a 400/404,
never a 500: superscript and Arabic-Indic digits (which `str.isdigit()` accepts and `int()`
refuses), ids past PostgreSQL's bigint, NUL bytes."""

from __future__ import annotations

import pytest

from drcrm.validation import whole_number

pytestmark = pytest.mark.django_db

JUNK = ["²", "٣", "99999999999999999999999", "-1", "x", "1e5", "\x00"]


@pytest.mark.parametrize("junk", JUNK)
def test_calendar_pages_answer_junk_without_a_500(
    junk, calendar_a, clinic_a, receptionist_a, clinic_client
):
    client = clinic_client(clinic_a, receptionist_a)
    pat = calendar_a.pat.pk
    for url in [
        f"/calendar/?date={junk}&by={junk}&colour={junk}",
        f"/calendar/week/?practitioner={junk}&date={junk}",
        f"/calendar/book/?practitioner={junk}&type={junk}&patient={junk}&start={junk}",
        f"/calendar/book/?practitioner={pat}&type={junk}&room={junk}&start={junk}",
        f"/calendar/book/patients/?selected={junk}&q={junk}",
        f"/calendar/series/new/?appointment={junk}",
        f"/calendar/waitlist/?find={junk}&patient={junk}",
    ]:
        assert client.get(url).status_code < 500, url
    booking = {
        "practitioner": pat,
        "appointment_type": junk,
        "patient": junk,
        "date": junk,
        "time": junk,
        "duration_minutes": junk,
        "room": junk,
    }
    response = client.post("/calendar/book/", booking)
    assert response.status_code == 400  # the form again, with its field errors
    assert 'class="field-error"' in response.content.decode()


@pytest.mark.parametrize("junk", JUNK)
def test_the_calendar_api_answers_junk_parameters_with_a_400(
    junk, calendar_a, clinic_a, receptionist_a, api_client
):
    client = api_client(clinic_a, receptionist_a)
    for url in [
        f"/api/v1/appointments/?practitioner={junk}",
        f"/api/v1/availability/?appointment_type={junk}",
        f"/api/v1/availability/?appointment_type={calendar_a.checkup.pk}&limit={junk}",
    ]:
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)


def test_whole_number_takes_plain_ascii_digits_within_range_only():
    assert whole_number("42") == 42
    assert whole_number(" 7 ") == 7
    assert whole_number(7) == 7
    assert [whole_number(junk) for junk in JUNK] == [None] * len(JUNK)
    assert whole_number("9223372036854775807") == 2**63 - 1
    assert whole_number("9223372036854775808") is None
    assert whole_number("5", low=10) is None
