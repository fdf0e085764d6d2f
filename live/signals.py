"""Hooks for the domain apps, sent after commit.

- ``odds_ticks_received(ticks=list[dict])``: once per ingest call (one ``POST /api/odds/``,
  one timestamp group of a replay), the stored ticks in time order. Each dict is the data of
  the tick's ``odds.*`` message: sport, game, player, player_id, stat, book, line, over_odds,
  under_odds (floats), ts (ISO-8601), simulated, ``id`` (the OddsTick) and ``prev_line``. One
  signal per batch, not per tick, so a receiver can do its work in one pass (and should queue
  it: predictions queues one Celery task with the tick ids); a receiver's error is logged and
  never undoes the ingest.
- ``game_final(game=dict)``: a game's final result (sport, game, home/away team and score, ts).
  Predictions grade and portfolios settle from it.
"""

from django.dispatch import Signal

odds_ticks_received = Signal()
game_final = Signal()
