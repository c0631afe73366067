"""DR. CRM settings: one module, every value read from the environment (12-factor).

Development needs no variable at all. `DRCRM_ENV=production` switches on the production
defaults (secure cookies, HSTS, no debug) and makes the secrets mandatory.

App placement (decided once, see DESIGN.md section 4): users, memberships and the clinic
registry live in `public` (SHARED_APPS); clinical data lives in each clinic's schema
(TENANT_APPS). Sessions are in both lists so a session only exists in the schema that
issued it. Tenant apps may point at shared models (users, clinics), never the reverse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent  # the repository root


def env(name: str, default: str | None = None) -> str:
    """Read a setting from the environment, or from the file named by `<NAME>_FILE`."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name} (see README.md).")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from exc


DRCRM_ENV = env("DRCRM_ENV", "development")
if DRCRM_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("DRCRM_ENV must be development, test or production.")
IS_PRODUCTION = DRCRM_ENV == "production"

DEBUG = env_bool("DEBUG", default=DRCRM_ENV == "development")
SECRET_KEY = env("SECRET_KEY", None if IS_PRODUCTION else "dev-only-secret-key-" + "x" * 40)


def _two_factor_encryption_keys() -> list[str]:
    """Fernet keys for the authenticator secrets (shared_apps/two_factor/secret_box.py).

    Kept out of the database so a dump alone cannot compute anyone's codes. The first key
    encrypts, all decrypt: to rotate, put the new key first. Development and tests derive
    one from SECRET_KEY so nothing needs configuring; production must set it.
    """
    derived = base64.urlsafe_b64encode(
        hashlib.sha256(f"drcrm-two-factor:{SECRET_KEY}".encode()).digest()
    ).decode("ascii")
    raw = env("TWO_FACTOR_ENCRYPTION_KEYS", None if IS_PRODUCTION else derived)
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "Set the environment variable TWO_FACTOR_ENCRYPTION_KEYS (see README.md)."
        )
    for position, key in enumerate(keys, start=1):
        # Checked here, not at the first sign-in: a bad key would otherwise surface as a
        # 500 on the two-factor step. The message names the position, never the key.
        try:
            valid = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (binascii.Error, UnicodeEncodeError, ValueError):
            valid = False
        if not valid:
            raise ImproperlyConfigured(
                f"TWO_FACTOR_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; see README.md)."
            )
    return keys


TWO_FACTOR_ENCRYPTION_KEYS = _two_factor_encryption_keys()

# The apex domain serves the public site; each clinic is <subdomain>.BASE_DOMAIN.
BASE_DOMAIN = env("BASE_DOMAIN", "drcrm.cloud" if IS_PRODUCTION else "localhost").lower()
# Extra hosts that also serve the public site (e.g. the load balancer's own name).
PUBLIC_HOSTS = [BASE_DOMAIN] + [
    host.strip().lower() for host in env("PUBLIC_HOSTS", "").split(",") if host.strip()
]
if not IS_PRODUCTION:
    PUBLIC_HOSTS += ["127.0.0.1"]
ALLOWED_HOSTS = [*PUBLIC_HOSTS, f".{BASE_DOMAIN}"]
# Never trust a proxy's idea of the host: X-Forwarded-Host must not switch the clinic.
USE_X_FORWARDED_HOST = False
SITE_SCHEME = "https" if IS_PRODUCTION else "http"
# Port shown in links built outside a request (emails, `make run` output).
SITE_PORT = env("SITE_PORT", "" if IS_PRODUCTION else "8000")

# --- applications -----------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "shared_apps.clinics",
    "shared_apps.accounts",
    "shared_apps.user_sessions",
    "shared_apps.staff",
    "shared_apps.two_factor",
    "shared_apps.profile",
    "provisioning",
    "shared_apps.operators",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drcrm",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "shared_apps.user_sessions",
    "tenant_apps.audit",
    "tenant_apps.api_tokens",
    "tenant_apps.patients",
    "tenant_apps.scheduling",
]
# `make bench` only (bench/__main__.py sets DRCRM_BENCH=1): a tenant app whose migrations
# the fleet-migration benchmark switches between (bench/fleet_app).
if env_bool("DRCRM_BENCH", default=False):
    TENANT_APPS += ["bench.fleet_app"]
    MIGRATION_MODULES = {"bench_fleet": "bench.fleet_app.migrations_v1"}
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "clinics.Clinic"
TENANT_DOMAIN_MODEL = "clinics.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "drcrm.urls_public"
ROOT_URLCONF = "drcrm.urls_tenant"
# Keeps the default (SET search_path before every statement): the cached variant has
# served one clinic another clinic's rows after savepoint rollbacks (DESIGN.md section 4).
TENANT_LIMIT_SET_CALLS = False
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["shared_apps.accounts.backends.ClinicMemberBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Long passphrases are welcome (bcrypt_sha256 has no 72-byte limit); megabytes are not.
    {"NAME": "shared_apps.accounts.passwords.MaximumLengthValidator"},
]
LOGIN_URL = "sign-in"
LOGIN_REDIRECT_URL = "dashboard"

MIDDLEWARE = [
    "drcrm.middleware.RequestContextMiddleware",
    "drcrm.middleware.HealthCheckMiddleware",
    "drcrm.middleware.ClinicRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shared_apps.accounts.middleware.ClinicMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: it tells the person why their session ended.
    "shared_apps.accounts.middleware.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "drcrm.context_processors.site",
            ],
        },
    }
]
WSGI_APPLICATION = "drcrm.wsgi.application"
ASGI_APPLICATION = "drcrm.asgi.application"

# --- data stores ------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/drcrm")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Every key carries the schema it was written from; nothing writes unprefixed keys.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "drcrm"),
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
# Host -> clinic routing is cached in each process (see shared_apps/clinics/routing.py):
# how often a worker asks Redis whether the registry changed, and how long it trusts its
# map when Redis does not answer.
CLINIC_ROUTING_CHECK_INTERVAL = env_int("CLINIC_ROUTING_CHECK_INTERVAL", 1)
CLINIC_ROUTING_FALLBACK_TTL = env_int("CLINIC_ROUTING_FALLBACK_TTL", 10)
# Worker processes of `manage.py migrate_clinics` (each migrates one clinic schema at a time).
FLEET_MIGRATION_WORKERS = env_int("FLEET_MIGRATION_WORKERS", 2)

# Patient CSV import: the largest upload accepted, and the most rows imported inside the
# request (larger files go to a Celery task and show progress).
PATIENT_IMPORT_MAX_BYTES = env_int("PATIENT_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
PATIENT_IMPORT_SYNC_ROWS = env_int("PATIENT_IMPORT_SYNC_ROWS", 200)

# --- sessions, cookies, CSRF: the session cookie is the only cookie we ever set ---------
# Django's database sessions with a user column, so people can list and end their own.
SESSION_ENGINE = "shared_apps.user_sessions.store"
SESSION_COOKIE_NAME = "__Host-drcrm_session" if IS_PRODUCTION else "drcrm_session"
SESSION_COOKIE_DOMAIN = None  # host-only: a clinic's cookie never travels to another host
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = IS_PRODUCTION
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute lifetime
# Idle timeout is per clinic (Clinic.session_idle_minutes); the absolute lifetime is global.
SESSION_ABSOLUTE_LIFETIME_SECONDS = env_int("SESSION_ABSOLUTE_LIFETIME_SECONDS", 12 * 60 * 60)
# How often an active session records that it was seen: bounds writes to one a minute.
SESSION_TOUCH_INTERVAL_SECONDS = 60
# Operators (public site) sign out after this many idle minutes, whatever any clinic says.
OPERATOR_SESSION_IDLE_MINUTES = env_int("OPERATOR_SESSION_IDLE_MINUTES", 15)
# Failed sign-ins per email and clinic before a lock, the window they count in, the lock.
SIGN_IN_MAX_FAILURES = env_int("SIGN_IN_MAX_FAILURES", 5)
SIGN_IN_FAILURE_WINDOW_SECONDS = env_int("SIGN_IN_FAILURE_WINDOW_SECONDS", 15 * 60)
SIGN_IN_LOCK_SECONDS = env_int("SIGN_IN_LOCK_SECONDS", 15 * 60)
CSRF_USE_SESSIONS = True
CSRF_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [f"{SITE_SCHEME}://{BASE_DOMAIN}", f"{SITE_SCHEME}://*.{BASE_DOMAIN}"]
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LANGUAGE_COOKIE_NAME = "drcrm_language_unused"  # never set: there is no set_language view

# --- security headers -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = IS_PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if IS_PRODUCTION else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if IS_PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- static files -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / ".run" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
if not IS_PRODUCTION:
    # Development serves static files from the apps (finders); STATIC_ROOT is only
    # filled by `collectstatic` for production, so its absence here is expected.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

# --- i18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- REST API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenant_apps.api_tokens.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view must declare its access (shared_apps/accounts/access.py).
    "DEFAULT_PERMISSION_CLASSES": ["shared_apps.accounts.access.ClinicAccess"],
    "DEFAULT_PAGINATION_CLASS": "drcrm.rest.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drcrm.rest.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per operator token on /api/platform/v1/ (shared_apps/operators/authentication.py).
OPERATOR_API_THROTTLE_RATE = env("OPERATOR_API_THROTTLE_RATE", "300/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "DR. CRM API",
    "DESCRIPTION": (
        "The clinic API. Every request is served on the clinic's own host "
        "(`https://<clinic>.drcrm.cloud/api/v1/`) and only ever sees that clinic's data."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs views declare `access = ANYONE` (drcrm/api.py); nothing is implicit.
    "SERVE_PERMISSIONS": ["shared_apps.accounts.access.ClinicAccess"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's scripts are served from our own static files: no CDN, no third party.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets sharing a field name ("status", "kind") get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "tenant_apps.scheduling.models.Appointment.Status",
        "RoomKindEnum": "tenant_apps.scheduling.models.Room.Kind",
        "ScheduleExceptionKindEnum": "tenant_apps.scheduling.models.ScheduleException.Kind",
    },
}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "drcrm")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000  # bounds per-backend catalog cache growth
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- email ------------------------------------------------------------------------------
# All mail goes through Django's mail API (drcrm.mail.send_email_on_commit); with a Resend
# key it leaves through Resend's HTTP API, without one it is printed to the console.
RESEND_API_KEY = env("RESEND_API_KEY", "")
RESEND_API_URL = env("RESEND_API_URL", "https://api.resend.com")
RESEND_TIMEOUT_SECONDS = env_float("RESEND_TIMEOUT_SECONDS", 10.0)
RESEND_MAX_ATTEMPTS = env_int("RESEND_MAX_ATTEMPTS", 4)  # per message, before Celery retries
RESEND_BACKOFF_SECONDS = env_float("RESEND_BACKOFF_SECONDS", 1.0)  # doubles per attempt
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "DR. CRM <no-reply@drcrm.cloud>")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "drcrm.email_backend.ResendEmailBackend"
    if RESEND_API_KEY
    else "django.core.mail.backends.console.EmailBackend",
)

# --- logging ----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "filters": {
        "request_id": {"()": "drcrm.logging.RequestIdFilter"},
        "redact_secrets": {"()": "drcrm.logging.RedactSecretsFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Bad Host headers are client errors, answered with a 400 page; not worth a warning each.
        "django.security.DisallowedHost": {"handlers": [], "propagate": False},
        # Request lines can carry link tokens (invites, password resets): redacted at source.
        "django.request": {"filters": ["redact_secrets"]},
        "django.server": {"filters": ["redact_secrets"]},
    },
}

# User.email is unique case-insensitively through a functional unique constraint
# (UNIQUE (lower(email))), which Django's check does not recognise as "unique".
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
