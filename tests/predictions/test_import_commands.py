"""The import_* management commands: exit status, errors on stderr, --skip-bad, idempotency."""

import io

import pytest
from django.core.management import CommandError, call_command

from predictions.models import Game, Player, StatLine, Team

pytestmark = pytest.mark.django_db


def run(command, path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, str(path), *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_league_imports_file_by_file_and_a_second_run_adds_nothing(db, write_csv):
    files = {
        "import_teams": write_csv("teams.csv", "sport,team_id,name\nnhl,TOR,Toronto\nnhl,MTL,Montreal"),
        "import_players": write_csv("players.csv", "sport,player_id,name,team_id,role\nnhl,m1,Auston M,TOR,F"),
        "import_games": write_csv(
            "games.csv", "sport,game_id,season,date,home_team_id,away_team_id\nnhl,n1,2024,2024-10-09,TOR,MTL"
        ),
        "import_stats": write_csv(
            "stats.csv", "sport,game_id,player_id,team_id,minutes,shots_on_goal,points\nnhl,n1,m1,TOR,20.5,5,2"
        ),
    }
    for command, path in files.items():
        out, _ = run(command, path)
        assert "created" in out

    counts = [Team.objects.count(), Player.objects.count(), Game.objects.count(), StatLine.objects.count()]
    for command, path in files.items():
        out, _ = run(command, path)
        assert " 0 created, 0 updated" in out
    assert [Team.objects.count(), Player.objects.count(), Game.objects.count(), StatLine.objects.count()] == counts


def test_a_bad_file_fails_with_each_row_and_column_and_imports_nothing(league, write_csv):
    path = write_csv(
        "stats.csv",
        "sport,game_id,player_id,team_id,minutes,points\nnba,g1,p1,BOS,30,10\nnba,g1,p2,LAL,-2,10\nnba,g1,zz,LAL,3,1",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 of 3 rows are invalid; nothing was imported"):
        call_command("import_stats", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "row 2.minutes: must be ≥ 0; got -2" in err.getvalue()
    assert "row 3.player_id: unknown player 'zz' in nba" in err.getvalue()
    assert StatLine.objects.count() == 0


def test_skip_bad_imports_the_good_rows_and_lists_the_bad_ones(league, write_csv):
    path = write_csv(
        "stats.csv", "sport,game_id,player_id,team_id,minutes,points\nnba,g1,p1,BOS,30,10\nnba,g1,p2,LAL,-2,10"
    )
    out, err = run("import_stats", path, "--skip-bad")
    assert "1 created" in out and "1 skipped (bad)" in out
    assert "row 2.minutes: must be ≥ 0; got -2" in err
    assert StatLine.objects.get().player.external_id == "p1"


def test_props_and_results_commands(league, write_csv):
    props = write_csv(
        "props.csv",
        "sport,game_id,player_id,stat,book,line,over_decimal_odds,under_decimal_odds,seen_at\n"
        "nba,g1,p1,points,Book,24.5,1.87,1.95,2024-10-22T12:00:00Z",
    )
    results = write_csv("results.csv", "sport,game_id,player_id,stat,value\nnba,g1,p1,points,31")
    assert "1 created" in run("import_props", props)[0]
    assert "1 created" in run("import_results", results)[0]


def test_a_missing_file_is_a_command_error(db, tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_stats", str(tmp_path / "nope.csv"))
