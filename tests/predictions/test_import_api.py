"""POST /api/import/{kind}/: staff only; JSON rows, CSV upload or CSV body; 400 names row and column."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from predictions.models import StatLine

pytestmark = pytest.mark.django_db

URL = "/api/import/stats/"
ROWS = [
    {"sport": "nba", "game_id": "g1", "player_id": "p1", "team_id": "BOS", "minutes": 36.5, "points": 30},
    {"sport": "nba", "game_id": "g1", "player_id": "p2", "team_id": "LAL", "minutes": 30, "points": 18},
]
CSV = "sport,game_id,player_id,team_id,minutes,points\nnba,g1,p1,BOS,36.5,30\nnba,g1,p2,LAL,30,18\n"


def test_anonymous_gets_401_and_a_plain_user_403(league, api_client, user_client):
    assert api_client.post(URL, ROWS, format="json").status_code == 401
    response = user_client.post(URL, ROWS, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert StatLine.objects.count() == 0


def test_staff_imports_json_rows_and_the_same_rows_again_change_nothing(league, staff_client):
    response = staff_client.post(URL, ROWS, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() | {"errors": []} == {
        "kind": "stats",
        "source": "api json",
        "skip_bad": False,
        "rows": 2,
        "imported": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "error_count": 0,
        "errors": [],
    }
    again = staff_client.post(URL, ROWS, format="json").json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert StatLine.objects.count() == 2


def test_a_bad_row_answers_400_naming_row_and_column_and_writes_nothing(league, staff_client):
    bad = [ROWS[0], {**ROWS[1], "minutes": -4}, {**ROWS[1], "player_id": "p404"}]
    response = staff_client.post(URL, bad, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_rows"
    assert error["fields"] == {
        "row 2.minutes": ["must be ≥ 0; got -4"],
        "row 3.player_id": ["unknown player 'p404' in nba"],
    }
    assert StatLine.objects.count() == 0


def test_skip_bad_query_imports_the_good_rows(league, staff_client):
    response = staff_client.post(f"{URL}?skip_bad=true", [ROWS[0], {**ROWS[1], "minutes": -4}], format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["skipped"]) == (1, 1)
    assert body["errors"] == [{"row": 2, "column": "minutes", "message": "must be ≥ 0; got -4"}]


def test_staff_uploads_a_csv_file(league, staff_client):
    upload = SimpleUploadedFile("stats.csv", CSV.encode(), content_type="text/csv")
    response = staff_client.post(URL, {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["source"] == "stats.csv" and response.json()["created"] == 2


def test_staff_posts_a_csv_body_and_a_bad_header_is_400(league, staff_client):
    response = staff_client.generic("POST", URL, CSV.encode(), content_type="text/csv")
    assert response.status_code == 200, response.json()
    bad = staff_client.generic("POST", URL, b"sport,player_id\nnba,p1\n", content_type="text/csv")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_file"
    assert bad.json()["error"]["fields"]["header.game_id"] == ["missing required column"]


def test_an_unknown_kind_is_404_and_an_empty_body_400(league, staff_client):
    assert staff_client.post("/api/import/coaches/", ROWS, format="json").status_code == 404
    assert staff_client.post(URL, {}, format="json").status_code == 400
