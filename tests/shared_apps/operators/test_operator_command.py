"""`manage.py operator`: creating operators, granting and revoking the flag."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shared_apps.accounts.models import User
from shared_apps.operators.models import OperatorEvent, OperatorToken
from shared_apps.operators.services import operator_token_create
from tests import factories

pytestmark = pytest.mark.django_db

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text("a long operator passphrase 42\n")
    return path


def test_create_makes_an_operator_with_the_password_from_the_file(password_file, capsys):
    call_command(
        "operator",
        "create",
        "--email",
        "ada@ops.example",
        "--name",
        "Ada Ops",
        "--password-file",
        str(password_file),
    )
    user = User.objects.get(email="ada@ops.example")
    assert user.is_operator
    assert user.check_password("a long operator passphrase 42")
    assert "two-factor" in capsys.readouterr().out
    event = OperatorEvent.objects.get(action="operator.created")
    assert (event.details, event.source) == ({"user": user.pk}, "command:operator")


@pytest.mark.parametrize(
    ("email", "password", "complaint"),
    [
        ("owner@clinic-a.example", "a long operator passphrase 42", "grant it operator rights"),
        ("not-an-email", "a long operator passphrase 42", "valid email"),
        ("new@ops.example", "short", "password"),
    ],
)
def test_create_refuses_bad_input_with_one_line(world, tmp_path, email, password, complaint):
    path = tmp_path / "password"
    path.write_text(password)
    with pytest.raises(CommandError, match=complaint) as refused:
        call_command(
            "operator", "create", "--email", email, "--name", "X", "--password-file", str(path)
        )
    assert "\n" not in str(refused.value)
    assert not User.objects.filter(email="new@ops.example").exists()


def test_create_without_a_terminal_asks_for_a_password_file():
    # A real process with stdin not a terminal, and a real non-zero exit.
    command = ["operator", "create", "--email", "x@ops.example", "--name", "X"]
    result = subprocess.run(
        [sys.executable, str(MANAGE), *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "--password-file" in result.stderr


def test_grant_and_revoke_flip_the_flag_and_revoke_tokens(capsys):
    user = factories.user_create(email="grace@ops.example")
    call_command("operator", "grant", "GRACE@ops.example")
    user.refresh_from_db()
    assert user.is_operator
    token, _ = operator_token_create(actor=user, name="script")
    call_command("operator", "revoke", "grace@ops.example")
    user.refresh_from_db()
    token.refresh_from_db()
    assert not user.is_operator
    assert token.revoked_at is not None
    actions = list(
        OperatorEvent.objects.filter(action__startswith="operator.").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["operator.granted", "operator.revoked"]
    assert "no longer" in capsys.readouterr().out


def test_granting_twice_records_once():
    user = factories.user_create(is_operator=True)
    call_command("operator", "grant", user.email)
    assert not OperatorEvent.objects.filter(action="operator.granted").exists()
    assert OperatorToken.objects.count() == 0


def test_an_unknown_email_is_a_clear_error():
    with pytest.raises(CommandError, match="operator create"):
        call_command("operator", "grant", "nobody@ops.example")
