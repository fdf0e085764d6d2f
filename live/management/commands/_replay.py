"""Shared body of replay_odds / replay_games: validate the whole file, then play it back."""

from __future__ import annotations

import itertools
import json
import math
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from a1site.core.errors import ApplicationError

from ... import services
from ...engine.feed import parse_speed, replay_delays

# At --speed max nothing waits between timestamps, so consecutive timestamps go in together, up
# to this many rows per ingest call: one transaction and one hook (e.g. one predictions task)
# per call instead of one per timestamp. A timestamp's rows are never split.
MAX_SPEED_BATCH_ROWS = 1000


def _merged(groups: list[list], limit: int) -> list[list]:
    merged: list[list] = []
    for group in groups:
        if merged and len(merged[-1]) + len(group) <= limit:
            merged[-1].extend(group)
        else:
            merged.append(list(group))
    return merged


class ReplayCommand(BaseCommand):
    parse = None  # services.*_feed_parse
    ingest = None  # callable(items) -> rows
    noun = "rows"
    endpoint = ""  # the feed endpoint that ingests the same rows over HTTP (--to)
    key = ""  # its list key

    def parse_options(self, options) -> dict:
        """Extra keyword arguments of ``parse`` taken from this command's own options."""
        return {"simulated": options["simulated"]}

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV feed (see live/data/ for the format)")
        parser.add_argument(
            "--simulated",
            action="store_true",
            help="label every row simulated unless its own 'simulated' column says otherwise",
        )
        parser.add_argument("--speed", default="10x", help="'10x' plays 10× faster than the timestamps; 'max' no waits")
        parser.add_argument("--limit", type=int, default=0, help="stop after this many rows (0: all)")
        parser.add_argument(
            "--to",
            metavar="URL",
            help="post each batch to this running server's feed endpoint instead of ingesting here "
            "(e.g. http://127.0.0.1:8000: in the embedded mode only the server's own ingest reaches "
            "its browsers)",
        )
        parser.add_argument(
            "--token",
            help="API token of a staff or 'feeders' user for --to (default: $A1_FEED_TOKEN, else the "
            f"token of the local '{services.FEED_REPLAY_USERNAME}' feeder, created if missing)",
        )

    def handle(self, *args, file, speed, limit, to=None, token=None, **options):
        try:
            factor = parse_speed(speed)
        except ValueError as exc:
            raise CommandError(str(exc))
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            items = type(self).parse(text=path.read_text(encoding="utf-8"), **self.parse_options(options))
        except ApplicationError as exc:
            lines = [f"  {where}: {'; '.join(problems)}" for where, problems in exc.fields.items()]
            raise CommandError(f"{file}: nothing was written.\n" + "\n".join(lines[:50]))
        items.sort(key=lambda item: item.ts)
        if limit:
            items = items[:limit]
        # Rows with the same timestamp go in together (one transaction, one burst of messages).
        groups = [list(group) for _, group in itertools.groupby(items, key=lambda item: item.ts)]
        if math.isinf(factor):
            groups = _merged(groups, MAX_SPEED_BATCH_ROWS)
        delays = replay_delays([group[0].ts for group in groups], speed=factor)
        ingest = type(self).ingest
        if to:
            if not to.startswith(("http://", "https://")):
                raise CommandError(f"--to: {to!r} is not an http:// or https:// URL")
            ingest = self._poster(to.rstrip("/") + self.endpoint, token or os.environ.get("A1_FEED_TOKEN"))
        started = time.monotonic()
        for delay, group in zip(delays, groups, strict=True):
            if delay:
                time.sleep(delay)
            ingest(group)
        elapsed = time.monotonic() - started
        where = f" to {to}" if to else ""
        self.stdout.write(self.style.SUCCESS(f"replayed {len(items)} {self.noun} from {file}{where} in {elapsed:.1f}s"))

    def _poster(self, url: str, token: str | None):
        """ingest(group) through ``POST url`` (the API validates and ingests the same rows)."""
        if not token:
            token = services.feed_replay_token()
            self.stdout.write(f"posting as the local '{services.FEED_REPLAY_USERNAME}' feeder")
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

        def post(group: list) -> None:
            body = json.dumps({self.key: [item.as_dict() for item in group]}).encode()
            # The scheme was checked in handle(): http(s) only.
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                    response.read()
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")[:500]
                raise CommandError(f"POST {url}: HTTP {exc.code}: {detail}") from None
            except (urllib.error.URLError, OSError) as exc:
                raise CommandError(f"POST {url}: {getattr(exc, 'reason', exc)}") from None

        return post
