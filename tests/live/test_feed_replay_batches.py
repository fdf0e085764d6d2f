"""replay_odds --speed max ingests many timestamps per call, with the same messages and steam
alerts as a replay that goes in one timestamp at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from live.backends import get_broker, reset_broker
from live.models import AlertPreference, OddsTick
from live.signals import odds_ticks_received

SAMPLE = Path(__file__).resolve().parents[2] / "live" / "data" / "sample_odds_feed.csv"


def replay(speed: str, capture) -> tuple[dict[str, list], list[int]]:
    """(topic → [(type, data without the tick id)], the size of each ingest call's batch)."""
    reset_broker()
    cache.clear()
    OddsTick.objects.all().delete()
    batches: list[int] = []
    odds_ticks_received.connect(lambda sender, ticks, **kw: batches.append(len(ticks)), weak=False, dispatch_uid="t")
    try:
        with capture(execute=True):
            call_command("replay_odds", str(SAMPLE), "--speed", speed)
    finally:
        odds_ticks_received.disconnect(dispatch_uid="t")
    published = {}
    for topic, ring in get_broker().history._rings.items():
        published[topic] = [
            (message["type"], {k: v for k, v in message["data"].items() if k != "id"})
            for message in map(json.loads, (text for _, text in ring))
        ]
    return published, batches


@pytest.mark.django_db
def test_a_max_speed_replay_batches_timestamps_and_publishes_the_same(user, django_capture_on_commit_callbacks):
    AlertPreference.objects.create(user=user, steam=True)

    paced, paced_batches = replay("1000000x", django_capture_on_commit_callbacks)
    fast, fast_batches = replay("max", django_capture_on_commit_callbacks)

    assert sum(paced_batches) == sum(fast_batches) == 603
    assert len(paced_batches) > 500 and fast_batches == [603]
    assert paced.keys() == fast.keys()
    steam = [m for m in fast[f"alerts.{user.pk}"] if m[0] == "alert.steam"]
    assert steam, "the sample has steam moves"
    for topic in paced:
        # A call's steam messages follow its ticks, so only the per-game streams keep one order.
        if topic.startswith("odds.game."):
            assert paced[topic] == fast[topic], topic
        else:
            assert sorted(map(json.dumps, paced[topic])) == sorted(map(json.dumps, fast[topic])), topic
