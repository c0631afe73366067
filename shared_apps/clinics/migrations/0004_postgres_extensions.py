"""Database-wide extensions, created once in `public` where every clinic schema sees them.

pg_trgm: trigram indexes for patient search; unaccent: accent-free matching.
"""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clinics", "0003_clinic_plan_country_fingerprint")]
    operations = [TrigramExtension(), UnaccentExtension()]
