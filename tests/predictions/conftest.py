import datetime as dt
import io

import pytest

from predictions.models import Game, Player, Team
from predictions.services import sports_sync_catalogue


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def league(db):
    """Two NBA teams, three players and one game: what the stat/prop/result files refer to."""
    sport_ids = sports_sync_catalogue()
    nba = sport_ids["nba"]
    bos = Team.objects.create(sport_id=nba, external_id="BOS", name="Boston", abbreviation="BOS")
    lal = Team.objects.create(sport_id=nba, external_id="LAL", name="Los Angeles", abbreviation="LAL")
    players = {
        ext: Player.objects.create(sport_id=nba, external_id=ext, name=name, team=team, role="starter")
        for ext, name, team in (("p1", "Jay One", bos), ("p2", "Al Two", lal), ("p3", "Cy Three", bos))
    }
    game = Game.objects.create(
        sport_id=nba, external_id="g1", season=2024, date=dt.date(2024, 10, 22), home_team=bos, away_team=lal
    )
    return {"teams": {"BOS": bos, "LAL": lal}, "players": players, "game": game}


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.strip().encode() + b"\n")


@pytest.fixture
def write_csv(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text.strip() + "\n")
        return path

    return write
