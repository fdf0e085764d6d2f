"""Hooks for the domain apps, sent after commit.

- ``odds_tick_received(tick=dict)``: each stored odds tick (OddsTickIn.as_dict() plus ``id``,
  ``prev_line``). The predictions app connects here for its prop lines and edge alerts.
- ``game_final(game=dict)``: a game's final result (sport, game, home/away team and score, ts).
  Predictions grade and portfolios settle from it.
"""

from django.dispatch import Signal

odds_tick_received = Signal()
game_final = Signal()
