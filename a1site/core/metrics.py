"""Application metrics (Prometheus). Request metrics per view come from django-prometheus."""

from prometheus_client import Counter, Gauge

JOBS = Counter("a1_jobs_total", "Jobs by kind and by the status they reached.", ["kind", "status"])
MODEL_LOADS = Counter(
    "a1_model_loads_total",
    "Model artifacts loaded from the registry, by model name and result (ok, tampered, missing).",
    ["name", "result"],
)
REDIS_STATE = Gauge("a1_redis_breaker_open", "1 while this process' Redis circuit breaker is open.")
REDIS_TRIPS = Counter("a1_redis_breaker_trips_total", "Times this process' Redis circuit breaker opened.")
REDIS_DEGRADED = Counter(
    "a1_redis_degraded_total",
    "Operations done without Redis because it was unreachable, by what was done instead "
    "(cache_bypass, throttle_local, refused_503).",
    ["operation"],
)
ROW_CACHE = Counter(
    "a1_row_cache_rows_total",
    "Rendered list rows served from this process' row cache (hit) or rendered (miss), by list.",
    ["cache", "outcome"],
)
SHED = Counter(
    "a1_requests_shed_total",
    "Requests answered 503 without being run: they waited longer than A1_QUEUE_TIMEOUT_S for a thread.",
)
