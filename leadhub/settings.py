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
    "leadhub.apps.LeadHubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Lead list filters (and their form in the browsable API).
    "django_filters",
    "django_q",
    # Operators sign in to the system API with JWTs too (refresh tokens are blacklisted on rotation).
    "rest_framework_simplejwt.token_blacklist",
]
TENANT_APPS = [
    "leadhub.apps.LeadHubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework_api_key",
    # Refresh-token blacklist per tenant schema (its users live there).
    "rest_framework_simplejwt.token_blacklist",
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
# SET search_path once per connection and tenant switch, not before every cursor
# (a chunk of ingestion or processing opens a dozen). django-tenants forgets the
# setting on set_tenant, rollback, savepoint rollback and close, so it is re-sent
# whenever PostgreSQL may have dropped it.
TENANT_LIMIT_SET_CALLS = True
# The public tenant's host names, created by add_tenant/bootstrap_demo when missing.
PUBLIC_DOMAINS = envlist("PUBLIC_DOMAINS", "localhost,127.0.0.1")

MIDDLEWARE = [
    "leadhub.middleware.RequestIdMiddleware",
    "leadhub.middleware.BodySizeLimitMiddleware",
    "django_tenants.middleware.main.TenantMainMiddleware",
    # A suspended tenant's pages and API answer 403 (health checks excepted).
    "tenants.middleware.SuspendedTenantMiddleware",
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
# --- Database restarts (faults) --------------------------------------------
# Persistent connections (CONN_MAX_AGE) die when PostgreSQL restarts or fails
# over; checking a reused connection before each request replaces a dead one
# instead of answering that request with a 500.
_db["CONN_HEALTH_CHECKS"] = envbool("DB_CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ----------------------------------------------------
REDIS_URL = env("REDIS_URL")
_database_cache = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "leadhub_cache",
    "KEY_FUNCTION": "django_tenants.cache.make_key",
    "KEY_PREFIX": env("CACHE_KEY_PREFIX", "leadhub"),
}
if REDIS_URL:
    CACHES = {
        # Redis while it answers, the database cache while it does not (leadhub/cache.py).
        "default": {"BACKEND": "leadhub.cache.FallbackCache", "OPTIONS": {"PRIMARY": "redis", "FALLBACK": "database"}},
        "redis": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "leadhub"),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 2},
        },
        "database": _database_cache,
    }
else:
    CACHES = {"default": _database_cache, "database": _database_cache}

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

# --- Enrichment and verification providers (see README "Enrichment and verification") ---
# Every outbound call has a timeout; 5xx/timeouts are retried with exponential back-off.
PROVIDER_TIMEOUT = float(env("PROVIDER_TIMEOUT", "10"))
PROVIDER_RETRIES = envint("PROVIDER_RETRIES", 2)
PROVIDER_BACKOFF = float(env("PROVIDER_BACKOFF", "1"))
# Cached answers (verification per email, company per domain) are reused for this long.
PROVIDER_CACHE_TTL_DAYS = envint("PROVIDER_CACHE_TTL_DAYS", 30)
# Temporary answers (unknown, greylisted, ...) are re-checked after this delay, this many times.
VERIFY_RECHECK_MINUTES = envint("VERIFY_RECHECK_MINUTES", 360)
VERIFY_RECHECK_LIMIT = envint("VERIFY_RECHECK_LIMIT", 3)
# Leads left for later (outage, queued, configuration problem) come back after this delay.
PROVIDER_RETRY_MINUTES = envint("PROVIDER_RETRY_MINUTES", 30)
MX_TIMEOUT = float(env("MX_TIMEOUT", "2"))
# Per-lead providers (Clearbit) stop asking after this many seconds in one run, well
# inside TASK_TIMEOUT; the remaining leads wait for the next run.
PROVIDER_RUN_SECONDS = envint("PROVIDER_RUN_SECONDS", 240)

# --- Background processing (see README "Background processing") -------------
# The ORM broker hands a task out again when it is not acknowledged within
# TASK_RETRY seconds (a dead worker). A lead lease outlives the task timeout
# (a task still running is never overtaken) but expires before that retry,
# so the re-delivered task can claim the dead worker's leads.
TASK_RETRY = envint("TASK_RETRY", TASK_TIMEOUT + 60)
CLAIM_LEASE_SECONDS = envint("CLAIM_LEASE_SECONDS", TASK_TIMEOUT + (TASK_RETRY - TASK_TIMEOUT) // 2)
if not TASK_TIMEOUT < CLAIM_LEASE_SECONDS < TASK_RETRY:
    raise ImproperlyConfigured("need TASK_TIMEOUT < CLAIM_LEASE_SECONDS < TASK_RETRY")
# Per-chunk stage timings behind /metrics are kept this long.
STAGE_TIMING_DAYS = envint("STAGE_TIMING_DAYS", 30)
# /metrics is readable with "Authorization: Bearer <METRICS_TOKEN>" or from these addresses.
METRICS_TOKEN = env("METRICS_TOKEN")
METRICS_ALLOWED_IPS = envlist("METRICS_ALLOWED_IPS", "")

Q_CLUSTER = {
    "name": "leadhub",
    "workers": BATCH_WORKERS,
    "timeout": TASK_TIMEOUT,
    # retry must exceed timeout, or a slow task would be handed out twice
    "retry": TASK_RETRY,
    "max_attempts": 3,
    "queue_limit": 50,
    "save_limit": 1000,
    "catch_up": False,
    "sync": envbool("Q_SYNC", False),
    "label": "Tasks",
}
# A pipeline job none of whose chunks reported for this long is marked "stalled":
# longer than a chunk can take, broker re-deliveries included.
JOB_STALL_MINUTES = envint("JOB_STALL_MINUTES", 60)
if JOB_STALL_MINUTES * 60 <= TASK_RETRY * Q_CLUSTER["max_attempts"]:
    raise ImproperlyConfigured("JOB_STALL_MINUTES must be longer than TASK_RETRY times the broker's attempts")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Exports (leads/exports/) -------------------------------------------------
# Destination credentials; a tenant's ExportSettings row (admin) overrides each one.
INSTANTLY_API_KEY = env("INSTANTLY_API_KEY")
SMARTLEAD_API_KEY = env("SMARTLEAD_API_KEY")
SALESFORCE_INSTANCE_URL = env("SALESFORCE_INSTANCE_URL")
SALESFORCE_TOKEN_URL = env("SALESFORCE_TOKEN_URL", "https://login.salesforce.com/services/oauth2/token")
SALESFORCE_CLIENT_ID = env("SALESFORCE_CLIENT_ID")
SALESFORCE_CLIENT_SECRET = env("SALESFORCE_CLIENT_SECRET")
SALESFORCE_EXTERNAL_ID_FIELD = env("SALESFORCE_EXTERNAL_ID_FIELD", "LeadHub_Id__c")
SALESFORCE_API_VERSION = env("SALESFORCE_API_VERSION", "60.0")
# Exports matching more leads than this run in the background (django-q2).
EXPORT_INLINE_MAX_LEADS = envint("EXPORT_INLINE_MAX_LEADS", 2000)
# Leads read from the database per round trip while streaming an export.
EXPORT_CHUNK_SIZE = envint("EXPORT_CHUNK_SIZE", 2000)
EXPORT_HTTP_TIMEOUT = envint("EXPORT_HTTP_TIMEOUT", 30)

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

# --- API authentication, throttling, errors (ingestion issue) ---------------------
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "leads.api.authentication.TenantJWTAuthentication",  # Authorization: Bearer <jwt>
    "leads.api.authentication.ApiKeyAuthentication",  # Authorization: Api-Key <key>
    "rest_framework.authentication.SessionAuthentication",  # pages and the browsable API
]
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "leads.api.errors.exception_handler"
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "leads.api.throttling.ApiKeyRateThrottle",
    "leads.api.throttling.UserRateThrottle",
]
# Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the
# header is ignored). Rate limits and sign-in lockouts count by the address they saw.
TRUSTED_PROXIES = envint("TRUSTED_PROXIES", 0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXIES
# Counted in the shared cache; read per request (see leads/api/throttling.py).
LEADHUB_THROTTLE_RATES = {
    "api_key": env("THROTTLE_API_KEY_RATE", "1200/min"),
    "user": env("THROTTLE_USER_RATE", "600/min"),
    "login": env("THROTTLE_LOGIN_RATE", "20/min"),
    "login_email": env("THROTTLE_LOGIN_EMAIL_RATE", "10/min"),
}
from datetime import timedelta  # noqa: E402

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=envint("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=envint("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "LeadStatusEnum": "leads.models.lead.LeadStatus.choices",
    "ImportBatchStatusEnum": ["running", "done", "failed"],
}

# --- Hardening: the schema documents the error answers every operation can give --------
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",  # drf-spectacular's default hook, kept
    "leads.api.schema.document_error_responses",
]

# JSON bodies with NUL characters or lone surrogates (PostgreSQL cannot store them) get a 400
# naming the field instead of failing inside a write.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "leads.api.parsers.StrictJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]

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

# --- Request size limits (413 above them) -------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("MAX_BODY_MB", 10) * 1024 * 1024
MAX_UPLOAD_SIZE = envint("MAX_UPLOAD_MB", 500) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger uploads are spooled to a temp file

# --- Settings, roles and branding ----------------------------------------------
# Largest logo a tenant may upload (bytes).
BRANDING_LOGO_MAX_BYTES = envint("BRANDING_LOGO_MAX_BYTES", 512 * 1024)

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
