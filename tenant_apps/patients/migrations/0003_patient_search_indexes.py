"""Indexes for search: a phone's last digits (reversed, prefix) and email in any case."""

from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models.functions import Reverse, Upper


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_import_job"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                OpClass(Reverse("phone_digits"), name="text_pattern_ops"),
                name="patient_phone_reversed",
            ),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                OpClass(Reverse("phone_alt_digits"), name="text_pattern_ops"),
                name="patient_phone_alt_reversed",
            ),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(Upper("email"), name="patient_email_upper"),
        ),
    ]
