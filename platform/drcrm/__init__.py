"""The DR. CRM Django project package (lives in platform/drcrm; see README.md)."""

from drcrm.celery import app as celery_app

__all__ = ["celery_app"]
