"""The Celery app. tenant-schemas-celery's CeleryApp carries the enqueuing schema in a
task header and switches the worker's connection to it before the task runs."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drcrm.settings")

app = CeleryApp("drcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["drcrm"])
app.autodiscover_tasks()
