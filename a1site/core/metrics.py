"""Application metrics (Prometheus). Request metrics per view come from django-prometheus."""

from prometheus_client import Counter

JOBS = Counter("a1_jobs_total", "Jobs by kind and by the status they reached.", ["kind", "status"])
MODEL_LOADS = Counter(
    "a1_model_loads_total",
    "Model artifacts loaded from the registry, by model name and result (ok, tampered, missing).",
    ["name", "result"],
)
