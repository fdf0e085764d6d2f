import json
import urllib.error
import urllib.request

import pytest

from tests.support import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_readyz_is_ok_then_503_naming_redis_users_when_redis_stops(asgi_server, own_redis):
    server = asgi_server(extra_env={"REDIS_URL": own_redis.url})

    status, body = _get(f"{server.url}/readyz")
    assert status == 200, body
    assert body["failed"] == []

    own_redis.stop()

    status, body = wait_until(
        lambda: (lambda r: r if r[0] == 503 else None)(_get(f"{server.url}/readyz")), timeout=30, what="503"
    )
    assert status == 503
    assert {"cache", "broker"} <= set(body["failed"])
    assert body["checks"]["database"] == "ok"
    # The process itself is still up.
    assert _get(f"{server.url}/healthz") == (200, {"status": "ok"})
