"""Request id plumbing for the JSON logs: a context variable set per request (or task)."""

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id == "-" and hasattr(record, "request"):
            # django.request logs a response after the middleware has returned.
            request_id = getattr(record.request, "request_id", "-")
        record.request_id = request_id
        return True
