"""Settings for Stockroom, read from the environment (see README)."""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.database import apply_pool

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "django-insecure-stockroom-development-only"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=1 for development."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "django_tasks_db",
    "import_export",
    "ninja",  # its bundled Swagger UI for /api/v1/docs (no CDN, CSP-safe)
    "simple_history",
    "axes",  # login throttling (README "Login throttling")
    "common",  # no models: the same column limits on SQLite and PostgreSQL (common/columns.py)
    "warehouses",
    "inventory",
    "orders",
    "scanning",
    "planning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "common.middleware.UnstorablePathMiddleware",  # NUL in a path: 404 on every database
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so it sees a view's error first: an unwritable database answers 503, not 500.
    "common.unavailable.DatabaseUnavailableMiddleware",
    # Replaces the answer to a locked-out login with common.logins.locked_out.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "inventory.context_processors.stockroom",
            ],
        },
    },
]

# Databases: SQLite in the project by default; PostgreSQL through DATABASE_URL.
SQLITE_PATH = BASE_DIR / "var" / "stockroom.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{SQLITE_PATH}",
        conn_max_age=600,
        conn_health_checks=True,
    )
}
# PostgreSQL only: STOCKROOM_DB_POOL=1 uses Django's psycopg pool (README "Several app servers").
apply_pool(DATABASES["default"], os.environ)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's SQLite backend with writers queued on a lock file (common/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "common.sqlite"
    SQLITE_PATH = Path(DATABASES["default"]["NAME"])
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    # SQLite connections are cheap; persistent ones across threads are not useful.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so writers queue on the busy
        # timeout instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA cache_size=-64000;"
            "PRAGMA temp_store=MEMORY;"
        ),
    }
    # A file, not shared-cache memory, so threaded tests see real locking; one
    # per process so parallel test runs never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"stockroom-test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes, README "Login throttling"): failures counted per username
# and per address; either reaching the limit locks logins out for the cool-off time.
AUTHENTICATION_BACKENDS = [
    "common.logins.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("STOCKROOM_LOGIN_FAILURE_LIMIT") or 10)
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("STOCKROOM_LOGIN_COOLOFF_MINUTES") or 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "common.logins.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STOCKROOM_CURRENCY = os.environ.get("STOCKROOM_CURRENCY", "EUR")
# Planning: JIT is flagged risky with a supplier whose lead time varies more than this
# (σL / mean) or that delivers late more often than this share of receipts.
STOCKROOM_JIT_MAX_LEAD_TIME_CV = float(os.environ.get("STOCKROOM_JIT_MAX_LEAD_TIME_CV", "0.25"))
STOCKROOM_JIT_MAX_LATE_SHARE = float(os.environ.get("STOCKROOM_JIT_MAX_LATE_SHARE", "0.20"))
# Character a scanner may send instead of the GS1 group separator (Ctrl+]).
STOCKROOM_GS1_SEPARATOR = os.environ.get("STOCKROOM_GS1_SEPARATOR", "|")
# Yearly cost of holding one unit, as a fraction of its unit cost (what a buffer costs).
STOCKROOM_HOLDING_COST_RATE = float(os.environ.get("STOCKROOM_HOLDING_COST_RATE", "0.25"))
# Overstock: more days of cover than this (dashboard and reports, planning.headlines).
STOCKROOM_OVERSTOCK_DAYS = int(os.environ.get("STOCKROOM_OVERSTOCK_DAYS") or 180)
# Cycle counts: days between counts of a location by the best ABC class it holds,
# e.g. STOCKROOM_COUNT_CADENCE="A=30,B=90,C=365" (planning.cycle_counts).
STOCKROOM_COUNT_CADENCE_DAYS = {
    name.strip(): int(days)
    for name, days in (
        part.split("=")
        for part in (os.environ.get("STOCKROOM_COUNT_CADENCE") or "A=30,B=90,C=365").split(",")
    )
}

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve from the finders when collectstatic has not run (tests, development).
WHITENOISE_USE_FINDERS = DEBUG or env_bool("WHITENOISE_USE_FINDERS", False)

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Webhooks (README "Webhook address rules"): how long a worker's claim on a delivery lasts
# before another worker sends it again, and whether loopback/private receivers are allowed
# (local development only; cloud metadata addresses are never allowed).
STOCKROOM_WEBHOOK_LEASE_SECONDS = int(os.environ.get("STOCKROOM_WEBHOOK_LEASE_SECONDS") or 120)
# How long a queued delivery waits for more stock changes to send with it (README
# "Webhooks"): a burst goes out as one delivery, and the commits inside the window do not
# ask the database whether a task is queued. 0 sends as soon as a worker is free.
STOCKROOM_WEBHOOK_GATHER_MS = int(os.environ.get("STOCKROOM_WEBHOOK_GATHER_MS") or 500)
STOCKROOM_WEBHOOK_ALLOW_PRIVATE = env_bool("STOCKROOM_WEBHOOK_ALLOW_PRIVATE", False)

# Admin product uploads are checked in the request, at about 4 ms a row for each of the
# two steps (measured: 2,000 rows took 8 s to check and 8 s to import), so these limits
# keep both well inside gunicorn's 60 s timeout. Bigger files go to `manage.py
# import_products`, which streams them (issue 15).
STOCKROOM_ADMIN_IMPORT_MAX_BYTES = int(
    os.environ.get("STOCKROOM_ADMIN_IMPORT_MAX_BYTES") or 2_000_000
)
STOCKROOM_ADMIN_IMPORT_MAX_ROWS = int(os.environ.get("STOCKROOM_ADMIN_IMPORT_MAX_ROWS") or 5_000)
# The products page's import (/products/import/) stores the file and imports it in a
# background task; this is the largest file it takes (the 663,656-row file is 50.5 MB).
STOCKROOM_IMPORT_MAX_BYTES = int(os.environ.get("STOCKROOM_IMPORT_MAX_BYTES") or 64_000_000)

# Content Security Policy: everything from our own origin, scripts only with a nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Load balancers poll the health check over plain HTTP, also when the site forces HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Mail (purchase orders to suppliers). An SMTP server when EMAIL_HOST is set; without
# one, messages are written to files in var/mail/ (the console with DEBUG on), so a fresh
# install never fails to "send". An explicit EMAIL_BACKEND wins over both.
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
_email_host = os.environ.get("EMAIL_HOST", "").strip()
_email_backend = os.environ.get("EMAIL_BACKEND", "").strip() or (
    SMTP_BACKEND
    if _email_host
    else "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else FILE_BACKEND
)
_MAIL_OPTIONS: dict = {}
if _email_backend == SMTP_BACKEND:
    _port = os.environ.get("EMAIL_PORT", "").strip()
    _MAIL_OPTIONS = {
        "host": _email_host or "localhost",
        "port": int(_port) if _port else None,  # None: 587 with TLS, 465 with SSL, else 25
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        # A stalled server must not hold a task worker for ever.
        "timeout": int(os.environ.get("EMAIL_TIMEOUT", "") or 30),
    }
elif _email_backend == FILE_BACKEND:
    _MAIL_OPTIONS = {
        "file_path": os.environ.get("EMAIL_FILE_PATH", "") or str(BASE_DIR / "var" / "mail")
    }
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _MAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "stockroom@localhost")
