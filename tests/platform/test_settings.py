"""Settings come from the environment; production settings pass Django's deploy check."""

import base64
import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DRCRM_", "SECRET_KEY", "TWO_FACTOR_ENCRYPTION_KEYS"))
    }
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    return {
        "DRCRM_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "BASE_DOMAIN": "drcrm.cloud",
        "RESEND_API_KEY": "re_not_a_real_key",
        "TWO_FACTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }


def test_production_settings_pass_the_deploy_check_at_warning_level():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key_in_one_line():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage("check", **env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: Set the environment variable SECRET_KEY (see README.md)."
    ]


def test_production_refuses_to_start_without_the_two_factor_keys_in_one_line():
    env = production_env()
    del env["TWO_FACTOR_ENCRYPTION_KEYS"]
    result = manage("check", **env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: Set the environment variable TWO_FACTOR_ENCRYPTION_KEYS "
        "(see README.md)."
    ]


def test_a_malformed_two_factor_key_is_refused_without_echoing_it():
    env = {
        **production_env(),
        "TWO_FACTOR_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()}, oops",
    }
    result = manage("check", **env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: TWO_FACTOR_ENCRYPTION_KEYS: key 2 is not a Fernet key "
        "(32 url-safe base64-encoded bytes; see README.md)."
    ]


def test_outside_production_the_two_factor_key_derives_from_the_secret_key():
    code = "from django.conf import settings as s; print(s.TWO_FACTOR_ENCRYPTION_KEYS)"
    result = manage("shell", "-c", code, SECRET_KEY="a development secret key")
    assert result.returncode == 0, result.stderr
    derived = base64.urlsafe_b64encode(
        hashlib.sha256(b"drcrm-two-factor:a development secret key").digest()
    ).decode()
    assert result.stdout.strip().splitlines()[-1] == str([derived])


def test_production_cookies_are_host_only_secure_and_host_prefixed():
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, "
        "s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_DOMAIN, s.CSRF_USE_SESSIONS, s.DEBUG)"
    )
    result = manage("shell", "-c", code, **production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "__Host-drcrm_session",
        "True",
        "None",
        "True",
        "False",
    ]


def test_a_malformed_number_in_the_environment_is_named():
    result = manage("check", DB_CONN_MAX_AGE="sixty")
    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE must be a whole number" in result.stderr


def test_app_placement_keeps_users_shared_and_sessions_per_clinic():
    # Moving an app between the lists silently changes which schema its tables live in.
    assert "shared_apps.accounts" in settings.SHARED_APPS
    assert "shared_apps.accounts" not in settings.TENANT_APPS
    assert "shared_apps.clinics" not in settings.TENANT_APPS
    assert "tenant_apps.audit" in settings.TENANT_APPS
    assert "tenant_apps.audit" not in settings.SHARED_APPS
    # Our database sessions (with a user column) sit in both lists, like Django's would.
    assert "shared_apps.user_sessions" in settings.SHARED_APPS
    assert "shared_apps.user_sessions" in settings.TENANT_APPS
    assert "django.contrib.sessions" not in settings.INSTALLED_APPS
    assert settings.SESSION_ENGINE == "shared_apps.user_sessions.store"
    assert settings.SESSION_COOKIE_DOMAIN is None
    assert settings.TENANT_LIMIT_SET_CALLS is False
    assert settings.USE_X_FORWARDED_HOST is False
    assert settings.MIDDLEWARE.index("drcrm.middleware.ClinicRoutingMiddleware") < (
        settings.MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware")
    )
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"
    assert settings.CACHES["default"]["KEY_FUNCTION"] == "django_tenants.cache.make_key"


def test_the_deploy_check_fails_when_email_would_only_be_printed():
    env = production_env()
    del env["RESEND_API_KEY"]
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "drcrm.W001" in result.stderr + result.stdout
