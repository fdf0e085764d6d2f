"""Reads shared by the API, pages, commands and other apps, one module per subject:

- ``catalogue``: sports, teams, players, games, stat lines, props, results, predictions;
- ``explaining``: stored predictions with what an explanation needs (explanations);
- ``logs``: the stored game logs and season lines as the engine's columnar arrays;
- ``markets``: priced props with our predictions, stat histories and settlements (portfolios);
- ``model_state``: live metrics, ensemble weights, drift warnings and shadows of versions;
- ``quotes``: what the live odds feed's quotes read;
- ``rows``: hand-written SELECTs of the prediction request path;
- ``slates``: a day's priced props and the predictions stored for them.

Other apps import from this package (``from predictions import selectors``); each read owns
its ``select_related``.
"""

from .catalogue import (
    PROP_ROW_VERSION,
    PROP_SORTS,
    best_edges,
    best_edges_version,
    game_ids_by_external_id,
    game_key_table,
    game_list,
    player_id_map,
    player_list,
    prediction_get,
    predictions_by_id,
    priced_prop_keys,
    priced_prop_list,
    priced_props_by_id,
    prop_list,
    prop_row_version,
    prop_row_versions,
    rendered_prop_rows,
    result_list,
    sport_id_map,
    sport_list,
    sport_stats,
    stat_line_list,
    team_id_map,
    team_list,
)
from .explaining import (
    explainable_predictions,
    explanation_key_fields,
    slate_prediction_ids,
)
from .logs import (
    MLB_VOLUME,
    GameHistoryLogs,
    game_history_logs,
    game_logs,
    game_seasons,
    games_columns,
    player_birth_dates,
    player_seasons,
    player_teams_and_roles,
    priced_pairs,
    season_lines_for_features,
    season_prop_table,
)
from .markets import (
    priced_props_with_predictions,
    prop_settlements,
    stat_histories,
)
from .model_state import (
    active_shadow_states,
    active_shadows,
    ensemble_weights_get,
    latest_weights_ids,
    live_metrics_by_version,
    live_snapshots_by_version,
    open_drift_summaries,
    open_drift_warnings,
    production_health,
    weights_history_by_version,
)
from .quotes import (
    book_names_on_days,
    game_days_by_external_id,
    latest_quote_rows,
    predictions_for_messages,
    simulated_player_external_ids,
)
from .rows import (
    GAME_FIELDS,
    PLAYER_FIELDS,
    eq,
    games_by_keys,
    in_,
    players_by_keys,
    prop_feature_rows,
    quoted,
    select_rows,
)
from .slates import (
    SLATE_PROP_FIELDS,
    slate_prop_rows,
    slate_stored_predictions,
)

__all__ = [
    "GAME_FIELDS",
    "GameHistoryLogs",
    "MLB_VOLUME",
    "PLAYER_FIELDS",
    "PROP_ROW_VERSION",
    "PROP_SORTS",
    "SLATE_PROP_FIELDS",
    "active_shadow_states",
    "active_shadows",
    "best_edges",
    "best_edges_version",
    "book_names_on_days",
    "ensemble_weights_get",
    "eq",
    "explainable_predictions",
    "explanation_key_fields",
    "game_days_by_external_id",
    "game_history_logs",
    "game_ids_by_external_id",
    "game_key_table",
    "game_list",
    "game_logs",
    "game_seasons",
    "games_by_keys",
    "games_columns",
    "in_",
    "latest_quote_rows",
    "latest_weights_ids",
    "live_metrics_by_version",
    "live_snapshots_by_version",
    "open_drift_summaries",
    "open_drift_warnings",
    "player_birth_dates",
    "player_id_map",
    "player_list",
    "player_seasons",
    "player_teams_and_roles",
    "players_by_keys",
    "prediction_get",
    "predictions_by_id",
    "predictions_for_messages",
    "priced_pairs",
    "priced_prop_keys",
    "priced_prop_list",
    "priced_props_by_id",
    "priced_props_with_predictions",
    "production_health",
    "prop_feature_rows",
    "prop_list",
    "prop_row_version",
    "prop_row_versions",
    "rendered_prop_rows",
    "prop_settlements",
    "quoted",
    "result_list",
    "season_lines_for_features",
    "season_prop_table",
    "select_rows",
    "simulated_player_external_ids",
    "slate_prediction_ids",
    "slate_prop_rows",
    "slate_stored_predictions",
    "sport_id_map",
    "sport_list",
    "sport_stats",
    "stat_histories",
    "stat_line_list",
    "team_id_map",
    "team_list",
    "weights_history_by_version",
]
