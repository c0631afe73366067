"""DRF views and serializers of `/api/v1/patients/`."""

from __future__ import annotations
