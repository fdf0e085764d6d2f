"""Settings switch modes by environment. Each case imports the settings in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
from django.conf import settings
django.setup()
from a1site.celery import app
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "cache": settings.CACHES["default"]["BACKEND"],
    "layers": getattr(settings, "CHANNEL_LAYERS", None),
    "broker": app.conf.broker_url,
    "eager": app.conf.task_always_eager,
    "acks_late": app.conf.task_acks_late,
    "reject_on_worker_lost": app.conf.task_reject_on_worker_lost,
    "serializer": app.conf.task_serializer,
    "accept": list(app.conf.accept_content),
    "time_limit": app.conf.task_time_limit,
    "soft_time_limit": app.conf.task_soft_time_limit,
    "prefetch": app.conf.worker_prefetch_multiplier,
    "debug": settings.DEBUG,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def probe(env_overrides: dict, tmp_path, script: str = PROBE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}}
    # A1_ENV_FILE: keep the developer's .env (DEBUG=true, a key) out of the probe.
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "a1site.settings",
            "A1_VAR_DIR": str(tmp_path),
            "A1_ENV_FILE": str(tmp_path / "none.env"),
        }
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{script}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def probe_ok(env_overrides: dict, tmp_path) -> dict:
    result = probe(env_overrides, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_mode_by_default(tmp_path):
    config = probe_ok({"SECRET_KEY": "x" * 50}, tmp_path)
    assert config["db"] == "django.db.backends.sqlite3"
    assert config["db_name"].startswith(str(tmp_path))
    assert config["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["layers"] is None  # live has its own hub; no Channels layer is configured
    assert config["eager"] is True
    assert config["broker"] == "memory://"


def test_services_mode_by_environment(tmp_path):
    config = probe_ok(
        {
            "SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgres://u:p@db.example.invalid:5432/a1",
            "REDIS_URL": "redis://cache.example.invalid:6379/2",
        },
        tmp_path,
    )
    assert config["db"] == "django.db.backends.postgresql"
    assert config["db_name"] == "a1"
    assert config["cache"] == "a1site.core.cache.ResilientRedisCache"
    assert config["layers"] is None
    assert config["broker"] == "redis://cache.example.invalid:6379/2"
    assert config["eager"] is False


def test_celery_settings_that_matter_reach_the_app(tmp_path):
    # A misspelled CELERY_ key is silently ignored, so check the values the app really has.
    config = probe_ok({"SECRET_KEY": "x" * 50, "REDIS_URL": "redis://127.0.0.1:6379/0"}, tmp_path)
    assert config["acks_late"] is True
    assert config["reject_on_worker_lost"] is True
    assert config["serializer"] == "json"
    assert config["accept"] == ["json"]
    assert 0 < config["soft_time_limit"] < config["time_limit"]
    assert config["prefetch"] == 1


def test_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    result = probe({"DEBUG": "false"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_without_secret_key_is_allowed_for_development(tmp_path):
    config = probe_ok({"DEBUG": "true"}, tmp_path)
    assert config["debug"] is True


def test_production_defaults_when_debug_is_off(tmp_path):
    config = probe_ok({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "a1.example.com"}, tmp_path)
    assert config["debug"] is False
    assert config["session_cookie_secure"] is True
    assert config["csrf_cookie_secure"] is True
    assert config["allowed_hosts"] == ["a1.example.com"]


def test_the_broker_keeps_a_message_unacked_longer_than_any_task_may_run(tmp_path):
    # kombu's default visibility timeout (3,600 s) is not what we run with, and a shorter one
    # than a task's hard limit would hand a message still being worked on to a second worker.
    script = (
        "import json, django; django.setup()\n"
        "from a1site.celery import app\n"
        "app.loader.import_default_modules()\n"
        "tasks = {n: t for n, t in app.tasks.items() if not n.startswith('celery.')}\n"
        "limits = {n: t.time_limit or app.conf.task_time_limit for n, t in tasks.items()}\n"
        "print(json.dumps({'visibility': app.conf.broker_transport_options['visibility_timeout'], 'limits': limits}))\n"
    )
    result = probe({"SECRET_KEY": "x" * 50, "REDIS_URL": "redis://127.0.0.1:6379/0"}, tmp_path, script)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])
    assert "predictions.train_models" in config["limits"] and "jobs.sweep_stale" in config["limits"]
    longest = max(config["limits"].values())
    assert config["visibility"] >= longest + 60, config
    assert config["visibility"] < 3600 * 2
