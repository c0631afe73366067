"""`manage.py two_factor_reseal`: re-encrypt every authenticator secret with the first key.

Rotating TWO_FACTOR_ENCRYPTION_KEYS: put the new key first, deploy, run this, then drop the
old key. Exits non-zero (and names the users) when a secret opens with no configured key.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shared_apps.two_factor.models import TotpDevice
from shared_apps.two_factor.services import totp_device_reseal

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Re-encrypt every authenticator secret with the first TWO_FACTOR_ENCRYPTION_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        device_ids = list(TotpDevice.objects.order_by("pk").values_list("pk", "user_id"))
        unreadable: list[int] = []
        for done, (device_id, user_id) in enumerate(device_ids, start=1):
            if not totp_device_reseal(device_id=device_id):
                unreadable.append(user_id)
            self._progress(done, len(device_ids))
        self.stdout.write(f"Re-encrypted {len(device_ids) - len(unreadable)} of {len(device_ids)}.")
        if unreadable:
            users = ", ".join(map(str, unreadable))
            raise CommandError(
                f"{len(unreadable)} secret(s) open with no configured key (user ids {users}): "
                "put the key that sealed them back in TWO_FACTOR_ENCRYPTION_KEYS and run again."
            )

    def _progress(self, done: int, total: int) -> None:
        if not sys.stdout.isatty():
            return  # a bar in a log file is noise; the summary line says it all
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {done}/{total}", ending="")
        if done == total:
            self.stdout.write("")
