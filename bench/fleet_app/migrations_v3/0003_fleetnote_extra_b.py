from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bench_fleet", "0002_fleetnote_extra_a")]
    operations = [
        migrations.AddField("fleetnote", "extra_b", models.CharField(max_length=50, null=True)),
    ]
