"""``replay_odds/replay_games --to URL``: the batches go through a running server's feed API (in
the embedded mode that is the only ingest its browsers hear), as a feeder, and an HTTP refusal
stops the replay with the server's message."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from live.models import GameEvent, OddsTick
from live.services import FEED_REPLAY_USERNAME
from tests.live.test_feed_simulated import published
from tests.live.test_feeds_and_api import GAMES, SAMPLE


@pytest.mark.django_db(transaction=True)
def test_replay_to_a_server_posts_as_the_local_feeder_and_the_server_publishes(live_server, capsys):
    call_command("replay_odds", str(SAMPLE), "--speed", "max", "--limit", "30", "--to", live_server.url)
    call_command("replay_games", str(GAMES), "--speed", "max", "--to", live_server.url + "/")

    assert OddsTick.objects.count() == 30
    assert set(OddsTick.objects.values_list("source", "simulated")) == {("api", True)}
    assert GameEvent.objects.filter(kind="final").count() == 1
    assert not GameEvent.objects.filter(simulated=False).exists()
    assert [m["data"]["kind"] for m in published("games.g-nba-1001")][-1] == "final"
    feeder = Token.objects.get(user__username=FEED_REPLAY_USERNAME).user
    assert feeder.groups.filter(name="feeders").exists() and not feeder.has_usable_password()
    out = capsys.readouterr().out
    assert f"posting as the local '{FEED_REPLAY_USERNAME}' feeder" in out
    assert f"replayed 30 odds ticks from {SAMPLE} to {live_server.url}" in out


@pytest.mark.django_db(transaction=True)
def test_a_token_that_may_not_feed_stops_the_replay_with_the_servers_reason(live_server, user):
    token = Token.objects.create(user=user).key  # a plain user: not staff, not a feeder

    with pytest.raises(CommandError, match=r"HTTP 403: .*Only staff or members of the 'feeders' group"):
        call_command("replay_odds", str(SAMPLE), "--speed", "max", "--to", live_server.url, "--token", token)
    with pytest.raises(CommandError, match=r"HTTP 401"):
        call_command("replay_odds", str(SAMPLE), "--speed", "max", "--to", live_server.url, "--token", "nope")
    assert not OddsTick.objects.exists()


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"POST http://127.0.0.1:9/api/odds/: .*refused"):
        call_command("replay_odds", str(SAMPLE), "--limit", "1", "--to", "http://127.0.0.1:9", "--token", "t")
    with pytest.raises(CommandError, match=r"--to: 'file:///etc/passwd' is not an http:// or https:// URL"):
        call_command("replay_odds", str(SAMPLE), "--to", "file:///etc/passwd")
