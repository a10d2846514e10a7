"""Architect settings: one module, driven by the environment.

With no configuration this is the embedded mode: SQLite in ARCHITECT_DATA_DIR,
the django-q2 ORM broker and the in-memory channel layer. DATABASE_URL and
REDIS_URL switch to PostgreSQL, channels-redis and the django-q2 Redis broker.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

from architect.lib.env import env_bool, env_int, env_list, env_str
from architect.lib.keyfiles import read_or_create_key

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ARCHITECT_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# litellm fetches a price map and tokenizers from the internet unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or read_or_create_key(DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(64))
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY") or read_or_create_key(
    DATA_DIR / "field_encryption_key", lambda: Fernet.generate_key().decode()
)

LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Behind real host names the site is served over HTTPS; on a laptop it is plain
# http://127.0.0.1:8000, where secure-only cookies would make login impossible.
SERVES_REAL_HOSTS = any(host not in LOCAL_HOSTS for host in ALLOWED_HOSTS)
HTTPS = env_bool("ARCHITECT_HTTPS", SERVES_REAL_HOSTS and not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_q",
    "auditlog",
    "axes",
    "encrypted_model_fields",
    "architect",
    "projects",
    "llmrouting",
    "sessions_pool",
    "autopilot",
    "cluster",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "architect.auth.LoginRequiredMiddleware",
    # Last, as django-axes requires: it turns lockouts into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "architect.urls"
ASGI_APPLICATION = "architect.asgi.application"
WSGI_APPLICATION = "architect.wsgi.application"

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

# --- Database -----------------------------------------------------------------

SQLITE_OPTIONS = {
    # WAL alone still gives "database is locked" with concurrent writers;
    # IMMEDIATE takes the write lock at BEGIN so waiting uses the timeout.
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "architect.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(SQLITE_OPTIONS)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not :memory:, so tests can share it with real worker processes.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, job broker ----------------------------------

REDIS_URL = env_str("REDIS_URL")
# One prefix per installation keeps two Architects on one Redis apart: events, jobs and cache keys.
# A test run gets a namespace of its own, as it gets a database of its own (one per pytest-xdist worker).
_TEST_NAMESPACE = ""
if os.environ.get("PYTEST_VERSION"):
    _xdist_worker = os.environ.get("PYTEST_XDIST_WORKER")
    _TEST_NAMESPACE = f"-test-{_xdist_worker}" if _xdist_worker else "-test"
REDIS_PREFIX = env_str("ARCHITECT_REDIS_PREFIX", "architect") + _TEST_NAMESPACE
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_PREFIX},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Q_CLUSTER = {
    "name": REDIS_PREFIX,  # names its Redis queue
    "workers": env_int("ARCHITECT_WORKERS", 2, minimum=1),
    "timeout": env_int("ARCHITECT_JOB_TIMEOUT", 3600, minimum=1),
    "retry": env_int("ARCHITECT_JOB_TIMEOUT", 3600, minimum=1) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.2,
    "ALT_CLUSTERS": {},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth ---------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/board/"
LOGOUT_REDIRECT_URL = "/login/"

# Idle sessions expire: every request pushes the expiry forward.
SESSION_COOKIE_AGE = env_int("ARCHITECT_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True

AXES_FAILURE_LIMIT = env_int("ARCHITECT_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ARCHITECT_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "lockout.html"

# --- API ----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "architect.authentication.AuditedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["architect.permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "architect.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "architect.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("ARCHITECT_API_ANON_RATE", "60/min"),
        "user": env_str("ARCHITECT_API_USER_RATE", "6000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Architect API",
    "DESCRIPTION": "Track software work and run it with AI agents, LLM calls and workers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" field; name each choice set explicitly.
    "ENUM_NAME_OVERRIDES": {
        "ProjectStatusEnum": "projects.models.Project.Status",
        "WorkStatusEnum": "projects.models.WorkStatus",
        "BugStatusEnum": "projects.models.Bug.Status",
        "TaskStatusEnum": "projects.models.TaskStatus",
        "LLMTierEnum": "llmrouting.models.Tier",
        "AutopilotRunStatusEnum": "autopilot.models.RunStatus",
        "PlanStatusEnum": "autopilot.models.Plan.Status",
        "ReviewStatusEnum": "autopilot.models.ReviewItem.Status",
    },
}

# --- Static files, i18n, logging ----------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOG_DIR = DATA_DIR / "logs"
LOG_DIR.mkdir(exist_ok=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ARCHITECT_LOG_LEVEL", "INFO")},
    "loggers": {"django-q": {"level": "WARNING"}, "LiteLLM": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- Architect ----------------------------------------------------------------

# How long the outbox keeps events; resume from an older id answers "resync".
ARCHITECT_EVENT_RETENTION_DAYS = env_int("ARCHITECT_EVENT_RETENTION_DAYS", 14, minimum=1)
