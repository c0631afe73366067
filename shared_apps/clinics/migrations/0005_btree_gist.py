"""btree_gist, created once in `public`: the appointment exclusion constraints compare a
practitioner or room id (btree equality) and a time range (GiST overlap) in one index."""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clinics", "0004_postgres_extensions")]
    operations = [BtreeGistExtension()]
