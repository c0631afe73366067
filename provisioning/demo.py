"""The demo clinic `make run` creates: its address and its owner's development login.

Kept free of Django imports so the `make run` supervisor can print the login before
Django is set up in its children."""

DEMO_SUBDOMAIN = "demo"
DEMO_OWNER_EMAIL = "owner@demo.example"
# Development only: demo_clinic refuses to run with DRCRM_ENV=production.
DEMO_OWNER_PASSWORD = "demo-owner-pass"  # noqa: S105
