"""Odds and game feed rows: parsing and validation, no Django.

Both the CSV replay and the REST ingest validate through these functions, so a bad row is
reported the same way everywhere: ``{"row 12": ["line: not a number ('x')"]}``. Every row is
checked before anything is written.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .topics import TOPIC_PART_MAX, topic_part

SPORTS = ("mlb", "nba", "nfl", "nhl")
GAME_EVENT_KINDS = ("start", "score", "period", "final")
ODDS_COLUMNS = ("ts", "sport", "game", "player", "player_id", "stat", "book", "line", "over_odds", "under_odds")
GAME_COLUMNS = ("ts", "sport", "game", "kind", "home_team", "away_team", "home_score", "away_score", "period", "detail")
MAX_ROWS = 50_000


class FeedError(ValueError):
    """Every problem found, keyed ``"row N"`` (1-based data row; the header is row 0)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        first = next(iter(errors.items()))
        super().__init__(f"{len(errors)} invalid row(s); first: {first[0]}: {'; '.join(first[1])}")


@dataclass(frozen=True)
class OddsTickIn:
    ts: datetime
    sport: str
    game: str
    player: str
    player_id: str
    stat: str
    book: str
    line: Decimal
    over_odds: Decimal
    under_odds: Decimal

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.sport, self.game, self.player, self.stat, self.book)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["ts"] = self.ts.isoformat()
        for name in ("line", "over_odds", "under_odds"):
            data[name] = float(data[name])
        return data


@dataclass(frozen=True)
class GameEventIn:
    ts: datetime
    sport: str
    game: str
    kind: str
    home_team: str
    away_team: str
    home_score: int | None
    away_score: int | None
    period: str
    detail: str

    def as_dict(self) -> dict:
        data = asdict(self)
        data["ts"] = self.ts.isoformat()
        return data


def _text(row: dict, column: str, errors: list[str], *, required: bool = True, max_length: int = 80) -> str:
    value = row.get(column)
    if isinstance(value, dict | list | tuple | set):
        errors.append(f"{column}: must be text or a number, not {type(value).__name__}")
        return ""
    value = "" if value is None else str(value).strip()
    if required and not value:
        errors.append(f"{column}: required")
    elif len(value) > max_length:
        errors.append(f"{column}: longer than {max_length} characters")
    return value


def _timestamp(row: dict, errors: list[str]) -> datetime | None:
    raw = row.get("ts")
    if isinstance(raw, datetime):
        value = raw
    else:
        text = "" if raw is None else str(raw).strip()
        if not text:
            errors.append("ts: required")
            return None
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            errors.append(f"ts: not an ISO-8601 time ({text[:40]!r})")
            return None
    if value.tzinfo is None:
        errors.append("ts: needs a UTC offset (e.g. 2026-11-26T19:05:00Z)")
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        errors.append(f"ts: outside the years 1-9999 in UTC ({str(raw)[:40]!r})")
        return None


def _game_id(row: dict, errors: list[str]) -> str:
    """The game id; it names the game's topics (``games.{id}``, ``odds.game.{id}``) through
    ``topic_part``, so it must fit one part once escaped."""
    game = _text(row, "game", errors, max_length=64)
    if game and len(topic_part(game)) > TOPIC_PART_MAX:
        errors.append(f"game: too long for a topic name once escaped ({len(topic_part(game))} > {TOPIC_PART_MAX})")
    return game


def _decimal(row: dict, column: str, errors: list[str], *, minimum: Decimal | None = None) -> Decimal | None:
    raw = row.get(column)
    text = "" if raw is None else str(raw).strip()
    if not text:
        errors.append(f"{column}: required")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(f"{column}: not a number ({text[:20]!r})")
        return None
    if not value.is_finite() or abs(value) >= 10_000:
        errors.append(f"{column}: out of range ({text[:20]!r})")
        return None
    if minimum is not None and value <= minimum:
        errors.append(f"{column}: must be greater than {minimum} (decimal odds)")
        return None
    return value


def _score(row: dict, column: str, errors: list[str]) -> int | None:
    raw = row.get(column)
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        errors.append(f"{column}: not a whole number ({text[:20]!r})")
        return None
    if value < 0 or value > 10_000:
        errors.append(f"{column}: out of range")
        return None
    return value


def _sport(row: dict, errors: list[str]) -> str:
    sport = _text(row, "sport", errors).lower()
    if sport and sport not in SPORTS:
        errors.append(f"sport: {sport!r} is not one of {list(SPORTS)}")
    return sport


def parse_odds_row(row: dict) -> OddsTickIn:
    errors: list[str] = []
    ts = _timestamp(row, errors)
    sport = _sport(row, errors)
    game = _game_id(row, errors)
    player = _text(row, "player", errors)
    player_id = _text(row, "player_id", errors, required=False, max_length=64)
    stat = _text(row, "stat", errors, max_length=40).lower()
    book = _text(row, "book", errors, max_length=40).lower()
    line = _decimal(row, "line", errors)
    over = _decimal(row, "over_odds", errors, minimum=Decimal(1))
    under = _decimal(row, "under_odds", errors, minimum=Decimal(1))
    if errors:
        raise ValueError("; ".join(errors))
    return OddsTickIn(ts, sport, game, player, player_id, stat, book, line, over, under)


def parse_game_row(row: dict) -> GameEventIn:
    errors: list[str] = []
    ts = _timestamp(row, errors)
    sport = _sport(row, errors)
    game = _game_id(row, errors)
    kind = _text(row, "kind", errors, max_length=10).lower()
    if kind and kind not in GAME_EVENT_KINDS:
        errors.append(f"kind: {kind!r} is not one of {list(GAME_EVENT_KINDS)}")
    home_team = _text(row, "home_team", errors, required=False)
    away_team = _text(row, "away_team", errors, required=False)
    home_score = _score(row, "home_score", errors)
    away_score = _score(row, "away_score", errors)
    if kind in ("score", "final") and (home_score is None or away_score is None):
        errors.append(f"home_score/away_score: required for a {kind} event")
    period = _text(row, "period", errors, required=False, max_length=20)
    detail = _text(row, "detail", errors, required=False, max_length=200)
    if errors:
        raise ValueError("; ".join(errors))
    return GameEventIn(ts, sport, game, kind, home_team, away_team, home_score, away_score, period, detail)


def parse_rows(rows, parse) -> list:
    """Parse every row; raise FeedError listing each bad row (nothing is half-accepted)."""
    parsed, errors = [], {}
    for number, row in enumerate(rows, start=1):
        if number > MAX_ROWS:
            errors["rows"] = [f"at most {MAX_ROWS} rows per feed"]
            break
        if not isinstance(row, dict):
            errors[f"row {number}"] = ["not an object"]
            continue
        try:
            parsed.append(parse(row))
        except ValueError as exc:
            errors[f"row {number}"] = str(exc).split("; ")
    if errors:
        raise FeedError(errors)
    return parsed


def read_csv(text: str, columns: tuple[str, ...]) -> list[dict]:
    """CSV with a header; lines starting with '#' before it are metadata (e.g. 'simulated')."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = [c for c in columns if c not in (reader.fieldnames or []) and c not in ("player_id", "detail")]
    if missing:
        raise FeedError({"row 0": [f"header: missing column(s) {missing}"]})
    return list(reader)


def replay_delays(timestamps: list[datetime], *, speed: float) -> list[float]:
    """Seconds to wait before each item so the feed plays ``speed`` times faster than it happened."""
    if not timestamps:
        return []
    if speed <= 0 or math.isinf(speed):
        return [0.0] * len(timestamps)
    delays, previous = [], timestamps[0]
    for ts in timestamps:
        delays.append(max(0.0, (ts - previous).total_seconds() / speed))
        previous = ts
    return delays


def parse_speed(text: str) -> float:
    """'10x' → 10.0, 'max' → inf (no waiting)."""
    raw = text.strip().lower()
    if raw in ("max", "inf", "0", "0x"):
        return math.inf
    try:
        value = float(raw.removesuffix("x"))
    except ValueError:
        raise ValueError(f"speed must look like '10x' or 'max', not {text!r}")
    if value <= 0 or not math.isfinite(value):
        raise ValueError("speed must be positive")
    return value
