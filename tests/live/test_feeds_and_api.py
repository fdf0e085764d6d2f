"""Odds and game ingest (REST and replay commands), signals, alert preferences and the Live page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from live.alerts import raise_edge_alert
from live.backends import get_broker
from live.models import AlertPreference, GameEvent, OddsTick
from live.signals import game_final, odds_ticks_received

SAMPLE = Path(__file__).resolve().parents[2] / "live" / "data" / "sample_odds_feed.csv"
GAMES = Path(__file__).resolve().parents[2] / "live" / "data" / "sample_game_feed.csv"

TICK = {
    "ts": "2026-11-26T23:00:07Z",
    "sport": "nba",
    "game": "g1",
    "player": "Sim NBA Player 01",
    "player_id": "203999",
    "stat": "points",
    "book": "dk",
    "line": 27.5,
    "over_odds": 1.91,
    "under_odds": 1.91,
}


def history(topic):
    broker = get_broker()
    return list(broker.history._rings.get(topic, ()))


@pytest.fixture
def feeder_client(make_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    feeder = make_user("feeder")
    feeder.groups.add(Group.objects.get_or_create(name="feeders")[0])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=feeder).key}")
    return client


@pytest.mark.django_db
class TestOddsApi:
    def test_a_plain_user_may_not_post_odds(self, user_client):
        response = user_client.post("/api/odds/", {"ticks": [TICK]}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"

    def test_anonymous_gets_401(self, api_client):
        assert api_client.post("/api/odds/", [TICK], format="json").status_code == 401

    @pytest.mark.parametrize("client_fixture", ["staff_client", "feeder_client"])
    def test_staff_and_feeders_ingest_ticks_which_are_stored_and_published(self, request, client_fixture):
        client = request.getfixturevalue(client_fixture)
        received = []
        odds_ticks_received.connect(lambda sender, ticks, **kw: received.append(ticks), weak=False, dispatch_uid="t")
        try:
            with self.captured_commits():
                response = client.post(
                    "/api/odds/", {"ticks": [TICK, {**TICK, "ts": "2026-11-26T23:01:00Z", "line": 28.5}]}, format="json"
                )
        finally:
            odds_ticks_received.disconnect(dispatch_uid="t")
        assert response.status_code == 201, response.content
        assert response.json()["ingested"] == 2
        assert OddsTick.objects.count() == 2
        types = [text for _, text in history("odds.nba")][-2:]
        assert '"type":"odds.open"' in types[0] and '"type":"odds.line_move"' in types[1]
        assert len(history("odds.game.g1")) >= 2
        assert len(received) == 1, "one signal per ingest call"
        assert [t["line"] for t in received[0]] == [27.5, 28.5]
        assert received[0][1]["prev_line"] == 27.5

    def test_bad_rows_answer_400_with_row_and_column_and_write_nothing(self, staff_client):
        response = staff_client.post("/api/odds/", [TICK, {**TICK, "over_odds": "abc"}], format="json")
        assert response.status_code == 400
        body = response.json()["error"]
        assert body["code"] == "invalid"
        assert body["fields"] == {"row 2": ["over_odds: not a number ('abc')"]}
        assert OddsTick.objects.count() == 0

    def test_recent_ticks_are_listed(self, staff_client, user_client):
        staff_client.post("/api/odds/", [TICK], format="json")
        results = user_client.get("/api/odds/?sport=nba").json()["results"]
        assert results[0]["player"] == "Sim NBA Player 01" and results[0]["game"] == "g1"

    from contextlib import contextmanager

    @staticmethod
    @contextmanager
    def captured_commits():
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            yield


@pytest.mark.django_db
def test_game_events_publish_and_a_final_sends_game_final(staff_client, django_capture_on_commit_callbacks):
    finals = []
    game_final.connect(lambda sender, game, **kw: finals.append(game), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(
                "/api/games/events/",
                {
                    "events": [
                        {"ts": "2026-11-26T23:00:00Z", "sport": "nba", "game": "g7", "kind": "start"},
                        {
                            "ts": "2026-11-26T23:50:00Z",
                            "sport": "nba",
                            "game": "g7",
                            "kind": "score",
                            "home_score": 50,
                            "away_score": 48,
                        },
                        {
                            "ts": "2026-11-27T01:00:00Z",
                            "sport": "nba",
                            "game": "g7",
                            "kind": "final",
                            "home_score": 101,
                            "away_score": 99,
                        },
                    ]
                },
                format="json",
            )
    finally:
        game_final.disconnect(dispatch_uid="t")
    assert response.status_code == 201
    assert GameEvent.objects.count() == 3
    assert [text.split('"type":"')[1].split('"')[0] for _, text in history("games.g7")] == [
        "game.start",
        "game.score",
        "game.final",
    ]
    assert finals[0]["home_score"] == 101 and finals[0]["game"] == "g7"


@pytest.mark.django_db
def test_game_final_without_scores_is_refused(staff_client):
    response = staff_client.post(
        "/api/games/events/",
        [{"ts": "2026-11-26T23:00:00Z", "sport": "nba", "game": "g7", "kind": "final"}],
        format="json",
    )
    assert response.status_code == 400
    assert "row 1" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_alert_preferences_get_and_put(user_client):
    assert user_client.get("/api/alerts/preferences/").json() | {"updated_at": None} == {
        "min_edge": "0.0500",
        "steam": True,
        "updated_at": None,
    }
    response = user_client.put("/api/alerts/preferences/", {"min_edge": "0.08", "steam": False}, format="json")
    assert response.status_code == 200 and response.json()["min_edge"] == "0.0800"
    bad = user_client.put("/api/alerts/preferences/", {"min_edge": 2}, format="json")
    assert bad.status_code == 400 and "min_edge" in bad.json()["error"]["fields"]


@pytest.mark.django_db
def test_edge_alert_respects_the_users_threshold(user, django_capture_on_commit_callbacks):
    AlertPreference.objects.create(user=user, min_edge="0.08")
    with django_capture_on_commit_callbacks(execute=True):
        assert not raise_edge_alert(user.pk, {"player": "p", "edge": 0.05})
        assert raise_edge_alert(user.pk, {"player": "p", "edge": 0.09})
    assert '"type":"alert.edge"' in history(f"alerts.{user.pk}")[-1][1]
    with pytest.raises(ValueError):
        raise_edge_alert(user.pk, {"edge": "lots"})


@pytest.mark.django_db
def test_replay_odds_stores_publishes_and_raises_a_steam_alert(user, django_capture_on_commit_callbacks):
    AlertPreference.objects.create(user=user, steam=True)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_odds", str(SAMPLE), "--speed", "max")
    assert OddsTick.objects.count() == 603
    assert any('"type":"odds.steam"' in text for _, text in history("odds.nba"))
    alerts = history(f"alerts.{user.pk}")
    assert any('"alert.steam"' in text and "Sim NBA Player" in text for _, text in alerts)


@pytest.mark.django_db
def test_replay_games_sample(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("replay_games", str(GAMES), "--speed", "max")
    assert GameEvent.objects.filter(kind="final").count() == 1


@pytest.mark.django_db
def test_replay_of_a_bad_file_reports_rows_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ts,sport,game,player,player_id,stat,book,line,over_odds,under_odds\n"
        "2026-11-26T23:00:07Z,nba,g1,P,,points,dk,27.5,1.9,1.9\n"
        "2026-11-26T23:00:08Z,nba,g1,P,,points,dk,oops,1.9,1.9\n"
    )
    with pytest.raises(CommandError, match=r"row 2: line: not a number"):
        call_command("replay_odds", str(bad))
    assert OddsTick.objects.count() == 0


def test_sample_feed_is_small_and_labelled_simulated():
    assert SAMPLE.stat().st_size < 200_000
    assert "SIMULATED" in SAMPLE.read_text().splitlines()[0]


@pytest.mark.django_db
def test_live_page_renders_for_a_logged_in_user_and_is_in_the_nav(client, user, password):
    client.login(username=user.username, password=password)
    response = client.get(reverse("live:page"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-live-page" in html and "live/live.js" in html and 'data-nav="live"' in html
    assert "odds.nba" in html and "alerts" in html


@pytest.mark.django_db
def test_live_page_needs_login(client):
    assert client.get("/live/").status_code == 302


@pytest.mark.django_db
def test_the_live_page_tells_the_operator_how_to_play_the_demo_feed_to_this_server(
    client, user, staff_user, password, settings
):
    hint = "replay_odds var/demo_odds.csv --speed 10x --to http://testserver"
    client.login(username=user.username, password=password)
    assert hint in client.get(reverse("live:page")).content.decode()  # embedded mode: the user runs it

    settings.REDIS_URL = "redis://127.0.0.1:6379/15"  # services mode: only staff operate the server
    assert 'data-testid="feed-hint"' not in client.get(reverse("live:page")).content.decode()
    client.login(username=staff_user.username, password=password)
    assert hint in client.get(reverse("live:page")).content.decode()
