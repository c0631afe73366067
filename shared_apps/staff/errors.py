"""Refusals of the staff rules, raised by services and turned into messages by the callers.

A page shows them as field errors (status 400, or 403 when the caller's role is the
reason); the API answers 400 with the field map, or 403.
"""

from __future__ import annotations

from enum import StrEnum


class StaffChangeRefused(Exception):
    """A business rule says no: last owner, own role, already a member, weak password..."""

    def __init__(self, *messages: str, field: str | None = None, forbidden: bool = False) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)
        # The form field the refusal is about (None: the whole form).
        self.field = field
        # True when the caller's role is what is missing: a 403 rather than a 400.
        self.forbidden = forbidden

    @property
    def message(self) -> str:
        return " ".join(self.messages)


class WrongAccountPassword(StaffChangeRefused):
    """The invited address has an account and the password typed is not its password.

    A separate type so the page can count it against the sign-in throttle: the accept
    form must not become a way around it for guessing that account's password.
    """


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"  # no such token here (another clinic's tokens included)
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"


INVITE_PROBLEM_MESSAGES: dict[InviteProblem, str] = {
    InviteProblem.UNKNOWN: "This invitation link is not valid.",
    InviteProblem.USED: (
        "This invitation has already been used. If you accepted it, sign in with your email "
        "and password."
    ),
    InviteProblem.REVOKED: "This invitation was withdrawn by the clinic.",
    InviteProblem.EXPIRED: "This invitation has expired: invitation links work for 72 hours.",
}


class InviteNotUsable(StaffChangeRefused):
    """The link cannot be accepted; `problem` says why (the page picks 404 or 410 from it)."""

    def __init__(self, problem: InviteProblem) -> None:
        super().__init__(INVITE_PROBLEM_MESSAGES[problem])
        self.problem = problem

    @property
    def is_gone(self) -> bool:
        # An expired link did exist: 410 Gone; the others are simply not (or no longer) here.
        return self.problem == InviteProblem.EXPIRED
