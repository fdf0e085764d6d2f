"""The PostgreSQL write path of the bulk importer (COPY into a staging table, then set-based
statements): the database still enforces every constraint, the whole import is one
transaction, and re-importing changes only what changed."""

import datetime as dt
import io

import pytest
from django.db import IntegrityError, connection, transaction

from predictions.models import Game, Player, StatLine, Team
from predictions.services import data_import, sports_sync_catalogue
from predictions.writes import bulk_upsert

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

STATS_HEADER = "sport,game_id,player_id,team_id,minutes,points,rebounds,assists,threes"


@pytest.fixture
def league():
    nba = sports_sync_catalogue()["nba"]
    bos = Team.objects.create(sport_id=nba, external_id="BOS", name="Boston", abbreviation="BOS")
    lal = Team.objects.create(sport_id=nba, external_id="LAL", name="Los Angeles", abbreviation="LAL")
    p1 = Player.objects.create(sport_id=nba, external_id="p1", name="Jay One", team=bos, role="starter")
    p2 = Player.objects.create(sport_id=nba, external_id="p2", name="Al Two", team=lal, role="starter")
    game = Game.objects.create(
        sport_id=nba, external_id="g1", season=2024, date=dt.date(2024, 10, 22), home_team=bos, away_team=lal
    )
    return {"bos": bos, "lal": lal, "p1": p1, "p2": p2, "game": game}


def _stats_file(*rows: str) -> io.BytesIO:
    return io.BytesIO(("\n".join([STATS_HEADER, *rows]) + "\n").encode())


def _columns(league, *, game_id=None, minutes=30.0) -> dict[str, list]:
    return {
        "player_id": [league["p1"].pk],
        "game_id": [game_id or league["game"].pk],
        "team_id": [league["bos"].pk],
        "opponent_id": [league["lal"].pk],
        "is_home": [True],
        "role": ["starter"],
        "minutes": [minutes],
        "stats": ['{"points":20}'],
        "simulated": [False],
    }


def test_reimport_changes_nothing_and_a_changed_value_updates_only_its_row(league):
    rows = ("nba,g1,p1,BOS,31.5,20,5,4,2", "nba,g1,p2,LAL,28.0,18,7,3,1")
    assert data_import(kind="stats", csv_file=_stats_file(*rows), source="a.csv").created == 2
    again = data_import(kind="stats", csv_file=_stats_file(*rows), source="a.csv")
    assert (again.created, again.updated) == (0, 0)

    changed = data_import(kind="stats", csv_file=_stats_file(rows[0], "nba,g1,p2,LAL,28.0,25,7,3,1"), source="b.csv")
    assert (changed.created, changed.updated) == (0, 1)
    assert StatLine.objects.get(player=league["p2"]).stats["points"] == 25
    assert StatLine.objects.get(player=league["p1"]).stats["points"] == 20


def test_a_missing_foreign_key_is_refused_by_the_database_and_nothing_is_written(league):
    with pytest.raises(IntegrityError), transaction.atomic():
        assert bulk_upsert(StatLine, _columns(league), key=("player_id", "game_id"), scope="game_id") == (1, 0)
        bulk_upsert(
            StatLine, _columns(league, game_id=league["game"].pk + 1000), key=("player_id", "game_id"), scope="game_id"
        )
    assert not StatLine.objects.exists()


def test_a_check_constraint_is_enforced_on_insert_and_on_update(league):
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_upsert(StatLine, _columns(league, minutes=-1.0), key=("player_id", "game_id"), scope="game_id")
    assert not StatLine.objects.exists()

    bulk_upsert(StatLine, _columns(league), key=("player_id", "game_id"), scope="game_id")
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_upsert(StatLine, _columns(league, minutes=-1.0), key=("player_id", "game_id"), scope="game_id")
    assert StatLine.objects.get().minutes == 30.0


def test_several_writes_in_one_transaction_leave_no_staging_table_behind(league):
    with transaction.atomic():
        assert bulk_upsert(StatLine, _columns(league), key=("player_id", "game_id"), scope="game_id") == (1, 0)
        changed = _columns(league, minutes=12.0)
        assert bulk_upsert(StatLine, changed, key=("player_id", "game_id"), scope="game_id") == (0, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.a1_import_staging')")
        assert cursor.fetchone()[0] is None
    assert StatLine.objects.get().minutes == 12.0
