"""The import service: row-by-row validation, one transaction, --skip-bad, idempotency, audit."""

import pytest

from a1site.audit.models import AuditEvent
from predictions.models import Game, PropLine, Result, StatLine
from predictions.services import ImportRejected, data_import
from tests.predictions.conftest import csv_bytes

pytestmark = pytest.mark.django_db

STATS_HEADER = "sport,game_id,player_id,team_id,minutes,points,rebounds"
GOOD_STATS = f"""
{STATS_HEADER}
nba,g1,p1,BOS,36.5,30,8
nba,g1,p2,LAL,34,22,11
"""


def import_csv(kind, text, **kwargs):
    return data_import(kind=kind, csv_file=csv_bytes(text), source=f"{kind}.csv", **kwargs)


def rejected(kind, text, **kwargs) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        import_csv(kind, text, **kwargs)
    return info.value


def test_good_stat_lines_are_imported_with_teams_resolved_from_the_game(league):
    report = import_csv("stats", GOOD_STATS)

    assert (report.rows, report.created, report.updated, report.skipped) == (2, 2, 0, 0)
    line = StatLine.objects.get(player=league["players"]["p2"])
    assert line.team == league["teams"]["LAL"] and line.opponent == league["teams"]["BOS"]
    assert line.is_home is False
    assert line.minutes == 34 and line.stats == {"points": 22, "rebounds": 11}


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("nba,g1,p9,BOS,30,10,1", "row 2.player_id", "unknown player 'p9' in nba"),
        ("nba,g1,p2,LAL,-3,10,1", "row 2.minutes", "must be ≥ 0; got -3"),
        ("nba,g1,p2,LAL,30,NaN,1", "row 2.points", "NaN is not allowed"),
        ("nba,g1,p2,LAL,30,ten,1", "row 2.points", "not a number: 'ten'"),
        ("nba,g1,p2,LAL,30,10", "row 2.rebounds", "missing column: 6 values, the header has 7"),
        ("nba,g1,p2,LAL,30,10,1,7", "row 2.(column 8)", "extra column: 8 values, the header has 7"),
        ("nba,g9,p2,LAL,30,10,1", "row 2.game_id", "unknown game 'g9' in nba"),
        ("nba,g1,p2,NYK,30,10,1", "row 2.team_id", "unknown team 'NYK' in nba"),
        ("nhl,g1,p2,LAL,30,10,1", "row 2.rebounds", "rebounds is not a nhl stat"),
        ("nba,g1,p1,BOS,30,10,1", "row 2.(row)", "duplicate of row 1 (same player_id, game_id)"),
    ],
)
def test_a_bad_row_is_reported_by_row_and_column_and_nothing_is_imported(league, row, field, reason):
    error = rejected("stats", f"{STATS_HEADER}\nnba,g1,p1,BOS,36.5,30,8\n{row}")

    assert error.code == "invalid_rows" and error.status_code == 400
    assert reason in error.fields[field], error.fields
    assert "1 of 2 rows are invalid; nothing was imported" in error.message
    assert StatLine.objects.count() == 0


def test_a_date_in_the_wrong_format_is_reported(league):
    error = rejected(
        "games",
        "sport,game_id,season,date,home_team_id,away_team_id\n"
        "nba,g2,2024,2024-10-23,BOS,LAL\n"
        "nba,g3,2024,10/24/2024,LAL,BOS",
    )
    assert error.fields == {"row 2.date": ["expected a date as YYYY-MM-DD; got '10/24/2024'"]}
    assert Game.objects.count() == 1


def test_odds_of_one_or_less_and_naive_times_are_refused(league):
    error = rejected(
        "props",
        "sport,game_id,player_id,stat,book,line,over_decimal_odds,under_decimal_odds,seen_at\n"
        "nba,g1,p1,points,Book,24.5,1.0,1.9,2024-10-22T12:00:00Z\n"
        "nba,g1,p1,rebounds,Book,7.5,1.9,1.9,2024-10-22 12:00\n"
        "nba,g1,p1,saves,Book,7.5,1.9,1.9,2024-10-22T12:00:00+02:00",
    )
    assert error.fields["row 1.over_decimal_odds"] == ["must be > 1; got 1"]
    assert error.fields["row 2.seen_at"][0].startswith("expected an ISO 8601 time with a UTC offset")
    assert error.fields["row 3.stat"][0].startswith("'saves' is not a nba stat")
    assert PropLine.objects.count() == 0


def test_a_missing_or_unknown_header_column_rejects_the_file(league):
    error = rejected("stats", "sport,game_id,player_id,minutes,points,steals\nnba,g1,p1,30,1,2")
    assert error.code == "invalid_file"
    assert error.fields == {
        "header.steals": ["unknown column for stats"],
        "header.team_id": ["missing required column"],
    }


def test_skip_bad_imports_the_good_rows_and_reports_the_rest(league):
    report = import_csv(
        "stats",
        f"{STATS_HEADER}\nnba,g1,p1,BOS,36.5,30,8\nnba,g1,p2,LAL,-1,22,11\nnba,g1,p3,BOS,12,4,2",
        skip_bad=True,
    )
    assert (report.rows, report.imported, report.created, report.skipped) == (3, 2, 2, 1)
    assert [(e.row, e.column) for e in report.errors] == [(2, "minutes")]
    assert set(StatLine.objects.values_list("player__external_id", flat=True)) == {"p1", "p3"}


def test_the_same_file_twice_changes_nothing_and_a_changed_value_updates_one_row(league):
    import_csv("stats", GOOD_STATS)
    snapshot = list(StatLine.objects.order_by("id").values())

    again = import_csv("stats", GOOD_STATS)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert list(StatLine.objects.order_by("id").values()) == snapshot
    corrected = import_csv("stats", GOOD_STATS.replace("34,22,11", "34,23,11"))
    assert (corrected.created, corrected.updated, corrected.unchanged) == (0, 1, 1)
    assert StatLine.objects.get(player__external_id="p2").stats == {"points": 23, "rebounds": 11}


def test_props_store_the_oracle_probabilities_and_results_settle_or_void(league):
    import_csv(
        "props",
        "sport,game_id,player_id,stat,book,line,over_decimal_odds,under_decimal_odds,seen_at,simulated,"
        "oracle_mean,oracle_dispersion\n"
        "nba,g1,p1,points,Book,24.5,1.87,1.95,2024-10-22T12:00:00Z,true,25.0,0.03\n"
        "nba,g1,p1,points,Book,25,1.87,1.95,2024-10-22T18:00:00+00:00,true,25.0,0.03\n"
        "nba,g1,p2,points,Book,20.5,1.9,1.9,2024-10-22T12:00:00Z,,,",
    )
    oracle_half, oracle_integer, real = PropLine.objects.order_by("player__external_id", "seen_at")
    assert oracle_half.simulated and 0.4 < oracle_half.oracle_p_over < 0.6 and oracle_half.oracle_p_push == 0
    assert oracle_integer.oracle_p_push > 0
    total = oracle_integer.oracle_p_over + oracle_integer.oracle_p_under + oracle_integer.oracle_p_push
    assert total == pytest.approx(1.0)
    assert not real.simulated and real.oracle_p_over is None

    import_csv("results", "sport,game_id,player_id,stat,value\nnba,g1,p1,points,31\nnba,g1,p2,points,")
    assert dict(Result.objects.values_list("player__external_id", "status")) == {"p1": "settled", "p2": "void"}


def test_a_season_row_needs_no_teams_but_a_game_does(league):
    error = rejected(
        "games",
        "sport,game_id,season,date,home_team_id,away_team_id,kind\n"
        "mlb,2024,2024,2024-04-01,,,season\n"
        "nba,g2,2024,2024-10-23,BOS,,game",
    )
    assert error.fields == {"row 2.away_team_id": ["required for a game (empty only for kind=season)"]}


def test_imports_are_audited_with_actor_file_and_counts(league, staff_user):
    import_csv("stats", GOOD_STATS, user=staff_user)
    rejected("stats", f"{STATS_HEADER}\nnba,g1,p9,BOS,1,1,1", user=staff_user)

    done = AuditEvent.objects.get(action="predictions.import")
    assert done.actor == staff_user and done.object_id == "stats"
    assert done.after["source"] == "stats.csv" and done.after["created"] == 2 and done.after["rows"] == 2
    refused = AuditEvent.objects.get(action="predictions.import_rejected")
    assert refused.after["skipped"] == 1
    assert refused.details["errors"] == ["row 1.player_id: unknown player 'p9' in nba"]


def test_json_rows_name_missing_and_unknown_keys(league):
    with pytest.raises(ImportRejected) as info:
        data_import(
            kind="stats",
            records=[
                {"sport": "nba", "game_id": "g1", "player_id": "p1", "team_id": "BOS", "minutes": 30, "points": 12},
                {"sport": "nba", "game_id": "g1", "player_id": "p2", "minutes": 30, "steals": 2},
            ],
        )
    assert info.value.fields == {"row 2.steals": ["unknown column for stats"], "row 2.team_id": ["missing column"]}
    assert StatLine.objects.count() == 0


def test_a_role_must_be_one_of_the_sports_roles_or_empty(league):
    from predictions.models import Player

    header = "sport,player_id,name,team_id,role"
    error = rejected("players", f"{header}\nnba,p7,Seven,BOS,starter\nnba,p8,Eight,BOS,PG")
    assert error.fields == {"row 2.role": ["'PG' is not a nba role; known: starter, bench (or empty)"]}
    assert not Player.objects.filter(external_id__in=["p7", "p8"]).exists()

    import_csv("players", f"{header}\nnba,p7,Seven,BOS,starter\nnba,p8,Eight,BOS,")
    assert Player.objects.get(external_id="p8").role == ""
    stats = rejected("stats", "sport,game_id,player_id,team_id,minutes,role,points\nnba,g1,p1,BOS,30,QB,12")
    assert "'QB' is not a nba role" in stats.fields["row 1.role"][0], stats.fields


def test_a_player_without_a_role_gets_a_missing_role_feature():
    import numpy as np

    from predictions.engine.features import role_index

    np.testing.assert_array_equal(role_index("nba", ["starter", "", None, "bench"]), [0.0, np.nan, np.nan, 1.0])
    with pytest.raises(ValueError, match="unknown role 'PG'"):
        role_index("nba", ["PG"])


def test_mlb_season_lines_carry_the_component_stats_and_other_sports_refuse_them(league):
    import_csv("teams", "sport,team_id,name\nmlb,NYA,New York Yankees")
    import_csv("players", "sport,player_id,name,team_id,role\nmlb,judgeaa01,Aaron Judge,NYA,batter")
    import_csv("games", "sport,game_id,season,date,home_team_id,away_team_id,kind\nmlb,2022,2022,2022-04-01,,,season")
    header = (
        "sport,game_id,player_id,team_id,minutes,plate_appearances,home_runs,"
        "doubles,triples,walks,batter_strikeouts,stolen_bases"
    )
    import_csv("stats", f"{header}\nmlb,2022,judgeaa01,NYA,,696,62,28,0,111,175,")

    line = StatLine.objects.get(player__external_id="judgeaa01")
    assert line.stats == {
        "plate_appearances": 696,
        "home_runs": 62,
        "doubles": 28,
        "triples": 0,
        "walks": 111,
        "batter_strikeouts": 175,
    }  # an empty stolen_bases is "not recorded": the features leave that season out of its rate
    error = rejected("stats", "sport,game_id,player_id,team_id,minutes,points,doubles\nnba,g1,p1,BOS,30,12,2")
    assert error.fields == {"row 1.doubles": ["doubles is not a nba stat"]}
