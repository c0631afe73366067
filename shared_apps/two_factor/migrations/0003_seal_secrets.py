# Authenticator secrets move from plain base32 to Fernet tokens (see secret_box.py).
# Written against cryptography and the setting directly, not secret_box, so later edits
# to that module cannot change what this migration did.

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import migrations, models

# A Fernet token always starts so; a base32 secret (upper case and digits) never does.
SEALED_PREFIX = "gAAAAA"
FIELDS = ("secret", "pending_secret")


def _box() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TWO_FACTOR_ENCRYPTION_KEYS])


def seal_plain_secrets(apps: Any, schema_editor: Any) -> None:
    """Encrypt the secrets development databases stored in clear, so their apps keep working."""
    TotpDevice = apps.get_model("two_factor", "TotpDevice")
    box = _box()
    for device in TotpDevice.objects.using(schema_editor.connection.alias).iterator():
        changed = []
        for field in FIELDS:
            value = getattr(device, field)
            if value and not value.startswith(SEALED_PREFIX):
                setattr(device, field, box.encrypt(value.encode()).decode("ascii"))
                changed.append(field)
        if changed:
            device.save(update_fields=changed)


def unseal_secrets(apps: Any, schema_editor: Any) -> None:
    """Back to plain base32, for the narrower columns of 0002."""
    TotpDevice = apps.get_model("two_factor", "TotpDevice")
    box = _box()
    for device in TotpDevice.objects.using(schema_editor.connection.alias).iterator():
        changed = []
        for field in FIELDS:
            value = getattr(device, field)
            if value and value.startswith(SEALED_PREFIX):
                try:
                    plain = box.decrypt(value.encode("ascii")).decode()
                except InvalidToken:
                    raise RuntimeError(
                        f"The {field} of authenticator {device.pk} opens with no key in "
                        "TWO_FACTOR_ENCRYPTION_KEYS; restore the key before migrating back."
                    ) from None
                setattr(device, field, plain)
                changed.append(field)
        if changed:
            device.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [
        ("two_factor", "0002_totpdevice_pending_secret"),
    ]

    operations = [
        # Widen first: a token (about 140 characters) does not fit the old 64.
        migrations.AlterField(
            model_name="totpdevice",
            name="pending_secret",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="totpdevice",
            name="secret",
            field=models.TextField(),
        ),
        migrations.RunPython(seal_plain_secrets, unseal_secrets),
    ]
