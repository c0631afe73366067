from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bench_fleet", "0001_initial")]
    operations = [
        migrations.AddField("fleetnote", "extra_a", models.CharField(max_length=50, null=True)),
    ]
