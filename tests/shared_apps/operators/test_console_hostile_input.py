"""Nothing an operator can type gets a 500: every console URL, walked signed in as an
operator, fed the hostile values of tests/platform/test_hostile_input.py."""

from __future__ import annotations

import pytest

from shared_apps.operators.services import operator_token_create
from tests.platform.test_hostile_input import assert_no_server_error, concrete_paths
from tests.shared_apps.operators.console_helpers import console_client, operator_create

pytestmark = pytest.mark.django_db


def test_the_console_survives_hostile_input_signed_in_as_an_operator(clinic_a):
    operator = operator_create()
    token, _ = operator_token_create(actor=operator, name="walk")
    paths = [
        path
        for path in concrete_paths("public", real_ids=(clinic_a.pk, token.pk))
        if path.startswith("/operator/") and path != "/operator/sign-out/"
    ]
    assert f"/operator/clinics/{clinic_a.pk}/suspend/" in paths
    for path in paths:
        # A fresh session per path: a hostile post may legitimately end the current one.
        assert_no_server_error(console_client(operator), path)
