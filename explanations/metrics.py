"""Prometheus metrics of explanations, on /metrics with the rest of the site's."""

from prometheus_client import Counter, Histogram

SERVED = Counter("a1_explanations_served_total", "Explanations answered, by level and source.", ["level", "source"])
CACHE_HITS = Counter("a1_explanations_cache_hits_total", "Explanations answered from the cache, by level.", ["level"])
SECONDS = Histogram(
    "a1_explanation_seconds",
    "Time to compute explanations (one call, fresh rows only), by level.",
    ["level"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0),
)
