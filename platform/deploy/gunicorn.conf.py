"""gunicorn settings for DR. CRM (`gunicorn -c platform/deploy/gunicorn.conf.py drcrm.wsgi`)."""

import multiprocessing
import os

from gunicorn import glogging

from drcrm.logging import redact_secrets

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Sync workers: django-tenants keeps the clinic on the thread's connection; async code
# paths would lose it.
worker_class = "sync"
timeout = 30
# Each backend caches the catalog entries of every clinic schema it touched and never
# frees them; recycling workers bounds that memory (see README, "Scale").
max_requests = 2000
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"


class RedactingLogger(glogging.Logger):
    """gunicorn's access log without the one-time tokens of invite and reset links."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):  # the request line and the path
            atoms[key] = redact_secrets(atoms[key])
        return atoms


logger_class = RedactingLogger
