"""The site's ASGI app, with every production model loaded at start (bench/predict.py's
memory measurement: one server process with all default models in memory)."""

from a1site.asgi import application  # noqa: F401 - served by uvicorn
from predictions.serving import service

service().warm()
