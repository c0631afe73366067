"""`manage.py operator`: who may run the fleet from the operator console.

    manage.py operator create --email ops@example.com --name "Ada Ops" [--password-file F]
    manage.py operator grant someone@example.com
    manage.py operator revoke someone@example.com

A new operator sets up two-factor sign-in at their first sign-in on /operator/.
Every change is an OperatorEvent with the source "command:operator".
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from drcrm import request_context
from drcrm.validation import error_one_line
from shared_apps.accounts.models import User
from shared_apps.operators.services import (
    operator_account_create,
    operator_grant,
    operator_revoke,
)


class Command(BaseCommand):
    help = "Create platform operators, or grant and revoke operator rights."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a new operator account.")
        create.add_argument("--email", required=True)
        create.add_argument("--name", required=True, help="The operator's full name.")
        create.add_argument(
            "--password-file",
            help="Read the password from this file (first line); otherwise you are asked.",
        )
        for name, text in (
            ("grant", "Make an existing account an operator."),
            ("revoke", "Take operator rights away (and revoke the operator's API tokens)."),
        ):
            sub = actions.add_parser(name, help=text)
            sub.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        token = request_context.activate(request_context.RequestContext(source="command:operator"))
        try:
            if options["action"] == "create":
                self._create(options)
            else:
                self._flag(options["action"], options["email"])
        except ValidationError as error:
            raise CommandError(error_one_line(error)) from None
        finally:
            request_context.deactivate(token)

    def _create(self, options: dict[str, Any]) -> None:
        password = self._password(options.get("password_file"))
        user = operator_account_create(
            actor=None, email=options["email"], full_name=options["name"], password=password
        )
        self.stdout.write(
            f"Created operator {user.email}. They set up two-factor sign-in at their "
            "first sign-in on /operator/sign-in/."
        )

    def _password(self, path: str | None) -> str:
        if path:
            try:
                lines = Path(path).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read the password file {path}: {error}") from None
            if not lines or not lines[0]:
                raise CommandError(f"The password file {path} is empty.")
            return lines[0]
        if not sys.stdin.isatty():
            raise CommandError("No terminal to ask for a password: use --password-file.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ. Nothing was created.")
        return password

    def _flag(self, action: str, email: str) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(
                f"No account with the email {email}: use `operator create` to make one."
            )
        if action == "grant":
            was = user.is_operator
            operator_grant(actor=None, user=user)
            self.stdout.write(
                f"{user.email} is {'already' if was else 'now'} an operator."
                + ("" if was else " They set up two-factor sign-in at their next sign-in.")
            )
        else:
            was = user.is_operator
            operator_revoke(actor=None, user=user)
            self.stdout.write(f"{user.email} {'is no longer' if was else 'was not'} an operator.")
