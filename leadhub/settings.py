"""LeadHub settings: one module, driven by environment variables (see README)."""
import os
import warnings
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
TESTING = envbool("LEADHUB_TESTING", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1")
DATA_DIR = Path(env("LEADHUB_DATA_DIR", str(BASE_DIR / ".data"))).resolve()

# --- Tenancy -------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
]
TENANT_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework_api_key",
    "leads",
    "processing",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "leadhub.urls_public"
ROOT_URLCONF = "leadhub.urls_tenants"
DEFAULT_NOT_FOUND_TENANT_VIEW = "leadhub.views.unknown_host"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# The public tenant's host names, created by add_tenant/bootstrap_demo when missing.
PUBLIC_DOMAINS = envlist("PUBLIC_DOMAINS", "localhost,127.0.0.1")

MIDDLEWARE = [
    "leadhub.middleware.RequestIdMiddleware",
    "django_tenants.middleware.main.TenantMainMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "leadhub.wsgi.application"

# --- Database ------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))
else:
    from leadhub.embedded_db import embedded_database

    _db = embedded_database(DATA_DIR / "pg")
_db["ENGINE"] = "django_tenants.postgresql_backend"
_db.setdefault("OPTIONS", {})
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ----------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "leadhub"),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "leadhub_cache",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "leadhub"),
        }
    }

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Pipeline --------------------------------------------------------------
ENABLE_ENRICHMENT = envbool("ENABLE_ENRICHMENT", False)
ENABLE_VERIFICATION = envbool("ENABLE_VERIFICATION", True)
ENABLE_BATCH_PROCESSING = envbool("ENABLE_BATCH_PROCESSING", True)
VERIFY_MX = envbool("VERIFY_MX", False)
CLEARBIT_API_KEY = env("CLEARBIT_API_KEY")
CLEARBIT_BASE_URL = env("CLEARBIT_BASE_URL", "https://person.clearbit.com")
ZEROBOUNCE_API_KEY = env("ZEROBOUNCE_API_KEY")
ZEROBOUNCE_BASE_URL = env("ZEROBOUNCE_BASE_URL", "https://api.zerobounce.net")
INSTANTLY_BASE_URL = env("INSTANTLY_BASE_URL", "https://api.instantly.ai")
SMARTLEAD_BASE_URL = env("SMARTLEAD_BASE_URL", "https://server.smartlead.ai")
BATCH_SCHEDULE = env("BATCH_SCHEDULE", "0 0,6,12,18 * * *")
BATCH_SIZE = envint("BATCH_SIZE", 1000)
BATCH_WORKERS = envint("BATCH_WORKERS", 4)
CLEANUP_SCHEDULE = env("CLEANUP_SCHEDULE", "0 2 * * *")
LEAD_RETENTION_DAYS = envint("LEAD_RETENTION_DAYS", 365)
TASK_TIMEOUT = envint("TASK_TIMEOUT", 600)

Q_CLUSTER = {
    "name": "leadhub",
    "workers": BATCH_WORKERS,
    "timeout": TASK_TIMEOUT,
    # retry must exceed timeout, or a slow task would be handed out twice
    "retry": TASK_TIMEOUT + 60,
    "max_attempts": 3,
    "queue_limit": 50,
    "save_limit": 1000,
    "catch_up": False,
    "sync": envbool("Q_SYNC", False),
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LeadHub API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Auth, i18n, static ------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# --- Review pages: static files ---------------------------------------------------
# gunicorn serves no files: WhiteNoise serves the collected static files (vendored htmx and
# Chart.js, the pages' CSS/JS) from STATIC_ROOT, ahead of the tenant lookup.
MIDDLEWARE.insert(MIDDLEWARE.index("django_tenants.middleware.main.TenantMainMiddleware"),
                  "whitenoise.middleware.WhiteNoiseMiddleware")
# Before collectstatic (development, tests) STATIC_ROOT does not exist; runserver and the
# test servers serve static files themselves, so WhiteNoise's warning about it is noise.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

# --- Security in production mode ---------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging: every line carries the tenant schema and the request id ---------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "leadhub.logging.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(schema)s %(request_id)s] %(name)s: %(message)s",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # pgserver logs every pg_ctl call at INFO, some of them at interpreter exit.
        "pgserver": {"level": "WARNING"},
    },
}
