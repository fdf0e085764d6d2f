"""The set-up and the request mix of ``bench/http_load.py`` (its docstring documents both).

``prepare_child`` runs in a child process (``http_load.py --prepare-into``), with Django
configured for one mode (embedded or services); the generator's process imports no Django.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from pathlib import Path

from bench import http_loadgen as gen

AS_OF = "2029-09-01"


def prepare_child(out: Path, users: int, quick: bool) -> None:
    """Migrate, load the demo (NBA), train, price the props, create ``users`` accounts with a
    token, a session and two jobs each; write what the generator needs to ``out``."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db.models import Max, Min
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from rest_framework.authtoken.models import Token

    from a1site.jobs.models import Job
    from a1site.registry.selectors import production_versions
    from predictions import services
    from predictions.models import PropLine

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("load_demo", "--sport", "nba", "--as-of", AS_OF, "--no-progress", *(["--small"] if quick else []))
    train = ["--stat", "points", "--quick"] if quick else []
    call_command("train_models", "--sport", "nba", *train, "--no-progress", verbosity=0)
    span = PropLine.objects.filter(game__sport__code="nba").aggregate(first=Min("game__date"), last=Max("game__date"))
    services.slate_predict(sport="nba", date=span["first"], through=span["last"])
    stats = sorted({v.stat for v in production_versions(sport="nba")})
    print(f"prepare: demo, models ({', '.join(stats)}) and prices in {time.monotonic() - started:.0f} s", flush=True)

    started = time.monotonic()
    User = get_user_model()
    User.objects.bulk_create(
        [User(username=f"load{k:05d}", password=make_password(None)) for k in range(users)], batch_size=2000
    )
    accounts = list(User.objects.filter(username__startswith="load").order_by("username"))
    Token.objects.bulk_create([Token(key=Token.generate_key(), user=u) for u in accounts], batch_size=2000)
    tokens = dict(Token.objects.filter(user__in=accounts).values_list("user_id", "key"))
    store, now = SessionStore(), timezone.now()
    backend = "django.contrib.auth.backends.ModelBackend"
    assert backend in settings.AUTHENTICATION_BACKENDS
    sessions = {
        u.pk: Session(
            session_key=get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
            session_data=store.encode(
                {
                    "_auth_user_id": str(u.pk),
                    "_auth_user_backend": backend,
                    "_auth_user_hash": u.get_session_auth_hash(),
                }
            ),
            expire_date=now + dt.timedelta(days=1),
        )
        for u in accounts
    }
    Session.objects.bulk_create(sessions.values(), batch_size=2000)
    jobs: dict[int, list[str]] = {u.pk: [] for u in accounts}
    rows = []
    for u in accounts:
        rows.append(Job(kind="http_load", owner=u, params={"n": 1}))  # queued, never received
        rows.append(
            Job(kind="http_load", owner=u, status=Job.Status.SUCCEEDED, progress=100, started_at=now,
                finished_at=now, result={"ok": True, "rows": list(range(20))})
        )  # fmt: skip
    for job in Job.objects.bulk_create(rows, batch_size=2000):
        jobs[job.owner_id].append(str(job.pk))
    props = list(
        PropLine.objects.filter(game__sport__code="nba", stat__in=stats)
        .order_by("id")
        .values_list("stat", "player_id", "game_id", "line", "over_decimal_odds", "under_decimal_odds")
    )
    props = random.Random(0).sample(props, min(2000, len(props)))
    data = {
        "users": [{"token": tokens[u.pk], "session": sessions[u.pk].session_key, "jobs": jobs[u.pk]} for u in accounts],
        "props": props,
        "stats": stats,
    }
    out.write_text(json.dumps(data))
    print(f"prepare: {len(accounts):,} users with tokens, sessions and jobs in {time.monotonic() - started:.1f} s")


class Mix:
    """``pick(user, rng) -> (kind, request bytes)``: the documented mix (weights in %)."""

    WEIGHTS = {"page": 30, "props": 35, "predict": 15, "batch": 5, "job": 15}
    PAGES = [("/", 10), ("/predictions/?sport=nba&page={n}", 15), ("/portfolios/", 5)]

    def __init__(self, data: dict) -> None:
        self.props = data["props"]
        for user in data["users"]:
            user["auth"] = f"Authorization: Token {user['token']}\r\n"
            user["cookie"] = f"Cookie: sessionid={user['session']}\r\n"
        self.kinds, self.weights = list(self.WEIGHTS), list(self.WEIGHTS.values())

    def prop(self, rng: random.Random) -> dict:
        stat, player, game, line, over, under = rng.choice(self.props)
        return {
            "sport": "nba", "stat": stat, "player": player, "game": game, "line": line + 0.5 * rng.randint(-4, 4),
            "over_decimal_odds": over, "under_decimal_odds": under,
        }  # fmt: skip

    def pick(self, user: dict, rng: random.Random) -> tuple[str, bytes]:
        kind = rng.choices(self.kinds, self.weights)[0]
        if kind == "page":
            path = rng.choices([p for p, _ in self.PAGES], [w for _, w in self.PAGES])[0]
            return kind, gen.request_bytes("GET", path.format(n=rng.randint(1, 20)), user["cookie"])
        if kind == "props":
            return kind, gen.request_bytes("GET", f"/api/props/?sport=nba&page={rng.randint(1, 20)}", user["auth"])
        if kind == "predict":
            return kind, gen.request_bytes(
                "POST", "/api/predictions/", user["auth"], json.dumps(self.prop(rng)).encode()
            )
        if kind == "batch":
            body = json.dumps({"props": [self.prop(rng) for _ in range(20)]}).encode()
            return kind, gen.request_bytes("POST", "/api/predictions/batch/", user["auth"], body)
        return kind, gen.request_bytes("GET", f"/api/jobs/{rng.choice(user['jobs'])}/", user["auth"])
