"""ASGI entry point. Views stay synchronous: django-tenants keeps the clinic on the
thread's connection, which async code paths would lose (see deploy/README.md)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drcrm.settings")
application = get_asgi_application()
