"""A1 settings: every value comes from the environment, with embedded defaults.

Embedded mode (nothing set): SQLite file, local-memory cache, in-memory channel layer and
Celery tasks executed in-process without a broker. Services mode switches on per integration:
``DATABASE_URL`` for PostgreSQL and ``REDIS_URL`` for the cache, the Channels layer and the
Celery broker/result backend (cookiecutter-django's pattern: one reader, one variable each).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# A local .env (written by `make run` for the embedded mode) is read if present; real
# environment variables win over it. A1_ENV_FILE points elsewhere (tests use an empty one).
environ.Env.read_env(env.str("A1_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (required when DEBUG "
            "is off), or run `make run`, which writes a .env with DEBUG=true and a random key."
        )
    SECRET_KEY = "insecure-embedded-development-key"  # noqa: S105 - DEBUG only
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("A1_VAR_DIR", default=str(BASE_DIR / "var")))
REDIS_URL = env.str("REDIS_URL", default="")

# Domain apps, in dependency order. a1site mounts their urls and WebSocket routes by name.
A1_DOMAIN_APPS = ["predictions", "live", "explanations", "portfolios"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "channels",
    "csp",
    "axes",
    "a1site.core",
    "a1site.accounts",
    "a1site.audit",
    "a1site.registry",
    "a1site.jobs",
    *A1_DOMAIN_APPS,
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "a1site.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "a1site.core.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "csp.middleware.CSPMiddleware",
    "a1site.core.middleware.SecurityHeadersMiddleware",
    "a1site.core.middleware.ApiErrorShapeMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "a1site.urls"
WSGI_APPLICATION = "a1site.wsgi.application"
ASGI_APPLICATION = "a1site.asgi.application"
# The WebSocket routes live in the live app; named by string so a1site imports no domain app.
# Requests one server process runs at once (a1site/asgi.py): Django's sync views in this many
# threads. With one, a slow request (a 10,000-prop batch, a big import) held up every other
# request of the process for its whole length; with two, the others go on beside it (at
# the GIL's share of the CPU). Throughput still comes from processes (--workers): the
# threads share one GIL, with the event loop too, which parses every request, answers
# /healthz and serves the WebSockets. With four threads busy in Python (cached props pages,
# 50 clients back to back) the loop got too small a share: /healthz p99 62-72 ms, against
# 38 ms with two, which also served more (530 against 475-516 req/s; bench/http_load.py).
# Model code stays on one OpenMP/BLAS thread each (docs/performance.md).
A1_HTTP_THREADS = env.int("A1_HTTP_THREADS", default=2)
# A request that waited longer than this for one of those threads is answered 503 with
# Retry-After instead of being run (a1site/core/wsgi_bridge.py): its client has most likely
# given up, and serving it only makes the queue behind it longer. 0 turns it off.
A1_QUEUE_TIMEOUT_S = env.float("A1_QUEUE_TIMEOUT_S", default=10.0)
# Request bodies the server reads at most (a1site/core/wsgi_bridge.py: 413 past it, counted
# while the body streams in). 16 MiB holds a full odds feed post (50,000 ticks, ~11 MB) and a
# 10,000-prop batch (~1.5 MB); imports (staff uploads of CSV files) take more.
A1_MAX_BODY_BYTES = env.int("A1_MAX_BODY_BYTES", default=16 * 1024 * 1024)
A1_MAX_UPLOAD_BYTES = env.int("A1_MAX_UPLOAD_BYTES", default=256 * 1024 * 1024)
A1_UPLOAD_PATHS = env.list("A1_UPLOAD_PATHS", default=["/api/import/"])
# Rendered list rows each server process keeps per list (a1site/core/rowcache.py): the props
# list's API rows (at most ~6 KB each, measured with tracemalloc) and Predictions page rows
# (~3 KB each): ~36 MB a process with both full at this size.
ROW_CACHE_ROWS = env.int("ROW_CACHE_ROWS", default=4000)
# Whole pages of the props list (API answers, Predictions page tables) each server process
# keeps per list under the list's generation (a1site/core/rowcache.py PageCache). A page's
# rows are the row cache's own objects while it holds them; at worst (none shared) 100 pages
# of 50 rows hold ~30 MB (API) and ~15 MB (Predictions page).
PAGE_CACHE_PAGES = env.int("PAGE_CACHE_PAGES", default=100)
A1_WEBSOCKET_ROUTES = env.str("A1_WEBSOCKET_ROUTES", default="live.routing.websocket_urlpatterns")

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
                "a1site.core.context_processors.site",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + immediate transactions let the embedded ASGI server's threads write without
    # "database is locked" errors (Django 5.1+ options).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # synchronous=NORMAL is safe with WAL (no corruption; a power cut can lose the last
        # commits) and takes the per-commit fsync (~4 ms here) off every prediction request.
        {
            # A slate writes ~100,000 predictions: a 32 MiB page cache per connection (used
            # only as pages are read) and a checkpoint every ~40 MiB of WAL instead of 4 MiB
            # (each copy and fsync of the WAL into the database then covers more rows) made
            # slate_predict ~30 % faster (bench/predict.py).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA cache_size=-32000; PRAGMA wal_autocheckpoint=10000;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation of queries: A1's are short, but a page of props with its latest
    # predictions is estimated costly enough to cross jit_above_cost, and PostgreSQL then
    # spent ~150 ms compiling 132 functions to run a 2 ms query (GET /api/props/ p50 147 ms
    # on the full NBA demo; PostgreSQL's docs advise JIT for long analytical queries only).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # Prepared statements: a query run DB_PREPARE_THRESHOLD times on a connection is planned
    # once and then only executed (psycopg binds parameters on the server for this). Django
    # turns both off by default for connection poolers in transaction mode; A1 keeps its own
    # connections (CONN_MAX_AGE below). Planning was ~half of PostgreSQL's CPU on a props page
    # (0.6 of ~1.3 ms, EXPLAIN ANALYZE); measured per GET /api/props/ page: 2.0-2.4 -> 1.1-1.3 ms
    # of PostgreSQL CPU. DB_PREPARED_STATEMENTS=false behind a pooler that cannot keep them.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].update(
            server_side_binding=True, prepare_threshold=env.int("DB_PREPARE_THRESHOLD", default=5)
        )
# Keep each thread's connection between requests: opening one (and, for SQLite, running the
# PRAGMAs above) cost more than a cached prediction request itself.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Channels, Celery: Redis when REDIS_URL is set, embedded equivalents if not ---
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, a miss instead of an error while Redis is unreachable.
            "BACKEND": "a1site.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "a1",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# No CHANNEL_LAYERS: live fans out through its own hub and broker (live/hub.py, live/backends.py),
# not Channels' layer, so there is no layer to configure or to check for readiness.
# Redis circuit breaker (a1site/core/resilience.py): open after this many consecutive Redis
# errors in a process; let one call through again after this many seconds.
REDIS_BREAKER_FAIL_MAX = env.int("REDIS_BREAKER_FAIL_MAX", default=2)
REDIS_BREAKER_RESET_S = env.float("REDIS_BREAKER_RESET_S", default=5.0)
# Explanations (a few KB each, thousands per slate) have their own cache: in Redis under their
# own prefix, embedded in a local-memory cache large enough for a day's slate (the default
# alias keeps only 300 entries).
CACHES["explanations"] = (
    {**CACHES["default"], "KEY_PREFIX": "a1x"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "explanations",
        "OPTIONS": {"MAX_ENTRIES": env.int("EXPLANATIONS_LOCMEM_ENTRIES", default=50_000)},
    }
)
EXPLANATIONS_CACHE_TTL_S = env.int("EXPLANATIONS_CACHE_TTL_S", default=24 * 3600)

# --- Live (live/: WebSocket streams, odds and game feeds, alerts) ------------------------
# Prefix of every live key and pub/sub channel in Redis. Pub/sub ignores the DB number, so two
# deployments (or a test run) on one Redis server must not share it: by default it is made of
# the Redis DB number and the database name.
LIVE_NAMESPACE = env.str("LIVE_NAMESPACE", default="")
# Messages kept per topic for resume; older positions get an explicit resync.
LIVE_HISTORY_SIZE = env.int("LIVE_HISTORY_SIZE", default=1000)
LIVE_HISTORY_TTL_S = env.int("LIVE_HISTORY_TTL_S", default=24 * 3600)
# Messages to one client within this window leave in one frame (a JSON array).
LIVE_BATCH_WINDOW_MS = env.int("LIVE_BATCH_WINDOW_MS", default=50)
LIVE_MAX_BATCH = env.int("LIVE_MAX_BATCH", default=500)
# Per-client outbound queue; when full (after merging superseded odds ticks) the client is closed 4413.
LIVE_OUTBOX_CAPACITY = env.int("LIVE_OUTBOX_CAPACITY", default=2000)
LIVE_MAX_SUBSCRIPTIONS = env.int("LIVE_MAX_SUBSCRIPTIONS", default=200)
LIVE_RATE_PER_S = env.float("LIVE_RATE_PER_S", default=10.0)
LIVE_RATE_BURST = env.int("LIVE_RATE_BURST", default=40)
# Strikes (rate-limited or invalid messages) within LIVE_STRIKE_WINDOW_S before a close (4429 / 4400).
LIVE_MAX_STRIKES = env.int("LIVE_MAX_STRIKES", default=20)
LIVE_STRIKE_WINDOW_S = env.float("LIVE_STRIKE_WINDOW_S", default=60.0)
# Clients ping every LIVE_HEARTBEAT_S; silence for LIVE_IDLE_TIMEOUT_S closes 4408.
LIVE_HEARTBEAT_S = env.int("LIVE_HEARTBEAT_S", default=25)
LIVE_IDLE_TIMEOUT_S = env.float("LIVE_IDLE_TIMEOUT_S", default=75.0)
LIVE_AUTH_TIMEOUT_S = env.float("LIVE_AUTH_TIMEOUT_S", default=10.0)
LIVE_SWEEP_INTERVAL_S = env.float("LIVE_SWEEP_INTERVAL_S", default=5.0)
# Steam move: a line moving by at least LIVE_STEAM_MIN_MOVE at LIVE_STEAM_MIN_BOOKS books
# within LIVE_STEAM_WINDOW_MIN minutes.
LIVE_STEAM_MIN_MOVE = env.float("LIVE_STEAM_MIN_MOVE", default=1.0)
LIVE_STEAM_WINDOW_MIN = env.float("LIVE_STEAM_WINDOW_MIN", default=10.0)
LIVE_STEAM_MIN_BOOKS = env.int("LIVE_STEAM_MIN_BOOKS", default=2)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Without a broker the tasks run in the calling process ("Celery without a broker").
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
# Paired with acks_late: a pool child killed mid-task (the worker's main process lives on)
# puts the message back at once instead of acking it. A killed main process acks nothing and
# rejects nothing: its messages (running or only received) stay unacked in Redis until the
# visibility timeout below; the jobs' heartbeats (a1site/jobs/services.py for a running job,
# a1site/jobs/worker.py for a received one) are what notice, within JOB_STALE_AFTER_S.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1700)
# The longest hard time limit of any task (predictions.train_models: 3,600 s; a test checks
# every registered task against it).
CELERY_TASK_MAX_TIME_LIMIT = env.int("CELERY_TASK_MAX_TIME_LIMIT", default=max(3600, CELERY_TASK_TIME_LIMIT))
# Redis redelivers an unacked message after visibility_timeout (kombu's default: 3,600 s). It
# must outlast the longest task, or a message still being worked on is handed to a second
# worker; 5 minutes on top covers the worker noticing its hard limit and acking.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_S", default=CELERY_TASK_MAX_TIME_LIMIT + 300)
}
# A running job writes a heartbeat every JOB_HEARTBEAT_S; one silent for JOB_STALE_AFTER_S has
# lost its worker and is requeued (at most JOB_MAX_ATTEMPTS runs in all) or marked failed.
JOB_HEARTBEAT_S = env.float("JOB_HEARTBEAT_S", default=10.0)
JOB_STALE_AFTER_S = env.float("JOB_STALE_AFTER_S", default=45.0)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=2)
# The sweep for such jobs runs on each job read (the API) and from Celery beat, if one runs.
CELERY_BEAT_SCHEDULE = {"jobs.sweep_stale": {"task": "jobs.sweep_stale", "schedule": 30.0}}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep the JSON log format of LOGGING in workers too (Celery replaces it otherwise).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 3600 * 24
CELERY_TIMEZONE = "UTC"

# --- Auth ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins locked per account and per address (django-axes; a1site/accounts/lockout.py).
AUTHENTICATION_BACKENDS = [
    "a1site.accounts.lockout.LoginLockBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = AXES_COOLOFF_MINUTES / 60  # hours, as axes reads a float
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_CLIENT_IP_CALLABLE = "a1site.core.addresses.client_address"
AXES_LOCKOUT_CALLABLE = "a1site.accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "pages:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Security (production-safe when DEBUG is off) ---------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None

# /metrics (a1site/core/metrics_access.py): a bearer token for Prometheus, or the networks
# it may be scraped from without one (loopback by default; empty: the token only).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])

# Content-Security-Policy (django-csp): scripts, styles and connections from this site only;
# the pages keep no inline script, handler or style (tests/a1site/test_hardening_headers.py).
# 'self' covers the same host's ws:/wss: for /ws/ (CSP level 3).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- I18N / time ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise warns on every request if its root is missing; collectstatic fills it in production.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve from the finders as well, so the embedded mode works without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- REST API ---------------------------------------------------------------------------
# Seconds a server process trusts a token key it has checked (a1site/accounts/authentication.py):
# a deleted token or changed user is refused at once where the change was made, within this
# long in the other processes. 0: look every request's token up.
AUTH_TOKEN_CACHE_S = env.float("AUTH_TOKEN_CACHE_S", default=10.0)

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes an anonymous API call a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "a1site.accounts.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's anon/user throttles with a constant cost per request (a1site/core/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "a1site.core.throttling.AnonSlidingRateThrottle",
        "a1site.core.throttling.UserSlidingRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "user": env.str("THROTTLE_USER", default="6000/min"),
        "auth": env.str("THROTTLE_AUTH", default="20/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "a1site.core.pagination.CachedCountPagination",
    # Proxies in front of the server whose X-Forwarded-For entries are trusted. DRF believes
    # that header whole when this is unset, so any client could pick its throttle identity.
    # 0 (default): the socket's address. Behind one reverse proxy: 1 (docs/security.md).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    # JSON only (a view that takes CSV or uploads names its parsers), through one parser that
    # answers hostile bodies with 400 naming the path (a1site/core/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["a1site.core.parsers.JSONBodyParser"],
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "a1site.core.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        # orjson: a 10,000-prop batch answer renders in ~25 ms instead of ~250 ms.
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "A1 API",
    "DESCRIPTION": (
        "Player-prop predictions, explanations and bankroll allocation. Authenticate with "
        "`Authorization: Token <key>` (POST /api/auth/token/) or a session. Every client error "
        'answers `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "a1site.core.schema.document_errors",
        "a1site.core.schema.openapi_30_bounds",
    ],
}

# --- Logging: JSON lines with the request id on every line -----------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "a1site.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}

A1_DEMO_USERNAME = env.str("A1_DEMO_USERNAME", default="demo")
# The demo's simulated odds feed for today's slate, played inside each server process from
# start-up (predictions.services.demo_odds; docs/live.md): on by default in the embedded mode, off in the
# services mode (there `manage.py play_demo_odds` runs it when asked). Speed: feed seconds per second.
A1_DEMO_ODDS_FEED = env.bool("A1_DEMO_ODDS_FEED", default=not REDIS_URL)
A1_DEMO_ODDS_FEED_SPEED = env.float("A1_DEMO_ODDS_FEED_SPEED", default=10.0)

# --- Predictions serving --------------------------------------------------------------------
# How often a process looks at the registry generation in the cache (ms), and how often it asks
# the database anyway in case a bump was lost (s).
PREDICTIONS_SERVING_CHECK_MS = env.float("PREDICTIONS_SERVING_CHECK_MS", default=250)
PREDICTIONS_SERVING_DB_TTL_S = env.float("PREDICTIONS_SERVING_DB_TTL_S", default=10.0)

# --- Portfolios -------------------------------------------------------------------------------
# Each worker process keeps the scenario draws of its recent runs (portfolios.engine.ScenarioCache)
# so that a rebalance after a price move does not draw them again: ~42 MB per N = 50 portfolio
# (S = 20,000 in sample, 50,000 out of sample). 0 turns the cache off.
PORTFOLIO_SCENARIO_CACHE_MB = env.int("PORTFOLIO_SCENARIO_CACHE_MB", default=128)
