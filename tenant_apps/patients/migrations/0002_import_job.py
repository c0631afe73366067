from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.CharField(max_length=64, unique=True)),
                ("filename", models.CharField(blank=True, max_length=255)),
                ("content", models.TextField()),
                ("encoding", models.CharField(max_length=20)),
                ("delimiter", models.CharField(default=",", max_length=1)),
                ("headers", models.JSONField(default=list)),
                ("mapping", models.JSONField(default=dict)),
                (
                    "mode",
                    models.CharField(
                        blank=True,
                        choices=[("all", "All or nothing"), ("valid", "Only the valid rows")],
                        max_length=5,
                    ),
                ),
                ("skip_duplicates", models.BooleanField(default=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("uploaded", "Uploaded"),
                            ("validated", "Checked"),
                            ("queued", "Importing"),
                            ("done", "Imported"),
                            ("refused", "Nothing imported"),
                            ("failed", "Failed"),
                        ],
                        default="uploaded",
                        max_length=10,
                    ),
                ),
                ("total_rows", models.PositiveIntegerField(default=0)),
                ("valid_rows", models.PositiveIntegerField(default=0)),
                ("error_rows", models.PositiveIntegerField(default=0)),
                ("duplicate_rows", models.PositiveIntegerField(default=0)),
                ("progress", models.PositiveIntegerField(default=0)),
                ("created_count", models.PositiveIntegerField(default=0)),
                ("errors", models.JSONField(default=list)),
                ("duplicates", models.JSONField(default=list)),
                ("failure", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("created_by_id", models.BigIntegerField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
    ]
