"""Training and evaluation of one sport/stat, and the demo training plan.

``train_stat`` splits a StatDataset by time (train < validation < test; the latest period is
the test), fits the XGBoost and PyTorch members on train with early stopping on validation,
fits every dispersion on validation, then each member's line temperature
(engine.calibration) on the validation period's book props, the ensemble weights on those
props' outcomes (on the whole validation distribution when there are too few props) and
the ensemble's own line temperature, and scores each member, the ensemble and the
baselines on the test period's book props (the models' prices there pooled with each
prop's de-vigged book price, as serving prices them):

- ``book``: the book's own probability, recovered from its two prices by proportional
  de-vigging (engine.logs.devig_proportional); its point forecast for MAE is the line.
- ``recent_average``: the player's mean over his last 10 games (last three seasons for MLB)
  as the distribution's mean, with the model family's dispersion fitted on train+validation.
- ``marcel`` (MLB): the Marcel projection as the mean, dispersion fitted likewise.
- ``fair_marcel`` (MLB): Marcel told that the player qualifies (engine.marcel.fair_marcel_count:
  Marcel's rate x a qualified player's playing time, the season book's rule without its
  noise), since the rows and props are qualified seasons only; the like-for-like baseline.
- ``oracle`` (simulated sports): the exact distribution the stat was drawn from.

MAE scores each predictor's point forecast (engine.metrics): the predictive median for the
models and the oracle (the MAE-optimal point of a distribution), the projection itself for
the point baselines (Marcel, the recent average), the line for the book.

Season datasets carry ``training_offset_adjustment``: the members are fitted (and early
stopped) with each past season's Marcel offset moved to that season's actual league rate, so
they learn the player's correction to Marcel rather than each season's unforeseeable league
level; everything fitted after them (dispersions, line temperatures, ensemble weights) sees
the unadjusted predictions, as serving does.

Splits: game datasets split on unique dates (the last ``test_fraction`` of dates is the test,
the ``validation_fraction`` before it validation); season datasets hold out the last season
as the test and the one before as validation.

One module past ~500 lines on purpose: it is one training run (datasets, time split, fit,
calibrate, evaluate against the baselines) in the order it runs, and the demo plan that runs
it, all on the dataset types defined here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from predictions.engine import features as feature_module
from predictions.engine import metrics
from predictions.engine.distributions import fit_dispersion, prob_over_under_push
from predictions.engine.features import FeatureSchema
from predictions.engine.lahman import (
    QUALIFIED_PLAYING_TIME_FLOOR,
    QUALIFYING_OPPORTUNITIES,
    PlayerSeasons,
    league_rates,
    season_date,
    season_feature_inputs,
    season_props,
)
from predictions.engine.logs import Games, Props, StatLines, devig_proportional
from predictions.engine.marcel import fair_marcel_count, marcel_project
from predictions.engine.models import (
    Ensemble,
    PropProbabilities,
    TorchConfig,
    TorchDistModel,
    XGBoostConfig,
    XGBoostDistModel,
    median_bracket,
    predictive_median,
)
from predictions.engine.sports import get_sport, get_stat

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class PropTable:
    """Book props joined to dataset rows (``row_index``)."""

    row_index: np.ndarray
    line: np.ndarray
    over_decimal_odds: np.ndarray
    under_decimal_odds: np.ndarray
    book: np.ndarray
    oracle_mean: np.ndarray
    oracle_dispersion: np.ndarray


@dataclass(frozen=True)
class StatDataset:
    sport: str
    stat: str
    family: str
    simulated: bool
    split_unit: str  # "date" (game props) or "season" (season props)
    schema: FeatureSchema
    X: np.ndarray
    y: np.ndarray
    dates: np.ndarray
    player_id: np.ndarray
    game_id: np.ndarray
    baselines: dict[str, np.ndarray]
    props: PropTable
    # A feature holding a baseline count (Marcel's) that count models use as a log offset.
    offset_feature: str | None = None
    # Season datasets: per row, log(the season's actual league rate / the league rate in the
    # row's Marcel projection), added to the offset while fitting only (``train_stat``): the
    # league's level is known in hindsight for past seasons but not before the predicted one.
    training_offset_adjustment: np.ndarray | None = None


def _join_props(props: Props, stat: str, game_id: np.ndarray, player_id: np.ndarray) -> PropTable:
    chosen = np.flatnonzero(props.stat == stat)
    row_of = {key: row for row, key in enumerate(zip(game_id.tolist(), player_id.tolist(), strict=True))}
    pairs = [(index, row_of.get((props.game_id[index].item(), props.player_id[index].item()))) for index in chosen]
    kept = np.array([index for index, row in pairs if row is not None], dtype=int)
    rows = np.array([row for _, row in pairs if row is not None], dtype=int)
    return PropTable(
        row_index=rows,
        line=props.line[kept].astype(float),
        over_decimal_odds=props.over_decimal_odds[kept].astype(float),
        under_decimal_odds=props.under_decimal_odds[kept].astype(float),
        book=props.book[kept],
        oracle_mean=props.oracle_mean[kept].astype(float),
        oracle_dispersion=props.oracle_dispersion[kept].astype(float),
    )


def build_game_dataset(
    stat_lines: StatLines, games: Games, props: Props, *, sport: str, stat: str, min_history: int = 3
) -> StatDataset:
    """Rows: stat lines of players in the stat's roles with at least ``min_history`` earlier
    games (books and models both need some history). Props join by (game_id, player_id)."""
    spec = get_stat(sport, stat)
    X_all = feature_module.build_game_features(sport, stat, stat_lines, games)
    names = feature_module.game_feature_names(stat)
    games_played = X_all[:, names.index("games_played_prior")]
    keep = np.isin(stat_lines.role, spec.roles) & (games_played >= min_history)
    rows = stat_lines.take(keep)
    X = X_all[keep]
    return StatDataset(
        sport=sport,
        stat=stat,
        family=spec.family,
        simulated=get_sport(sport).simulated,
        split_unit="date",
        schema=feature_module.game_schema(stat),
        X=X,
        y=rows.stats[stat].astype(float),
        dates=rows.game_date.astype("datetime64[D]"),
        player_id=rows.player_id,
        game_id=rows.game_id,
        baselines={"recent_average": X[:, names.index(f"{stat}_last10")]},
        props=_join_props(props, stat, rows.game_id, rows.player_id),
    )


def build_season_dataset(
    seasons: PlayerSeasons, stat: str, *, first_target_season: int, last_target_season: int, seed: int = 0
) -> StatDataset:
    """Rows: player seasons from ``first_target_season`` to ``last_target_season`` that reach
    the qualifying volume (engine.lahman: props on other players are void); features come
    from the three seasons before each, so ``seasons`` must start three seasons earlier."""
    qualifying = QUALIFYING_OPPORTUNITIES[seasons.role]
    target = np.flatnonzero(
        (seasons.season >= first_target_season)
        & (seasons.season <= last_target_season)
        & (seasons.opportunities >= qualifying)
    )
    rows = seasons.take(target)
    inputs = season_feature_inputs(seasons, stat, rows.player_id, rows.season, rows.age)
    counts, opportunities = inputs.counts, inputs.opportunities
    rates = league_rates(seasons, stat)
    X = feature_module.compute_season_features(inputs)
    names = feature_module.season_feature_names(stat)
    projection = marcel_project(counts, opportunities, inputs.league_rates, rows.age, inputs.marcel)
    marcel_league_rate = projection.league_rate
    season_league_rate = np.array([rates.get(int(season), np.nan) for season in rows.season])
    history_opportunities = opportunities.sum(axis=1)
    recent_average = np.where(
        history_opportunities > 0,
        counts.sum(axis=1) / np.maximum((opportunities > 0).sum(axis=1), 1),
        np.nan,
    )
    props = season_props(seasons, stat, target, seed=seed)
    return StatDataset(
        sport="mlb",
        stat=stat,
        family=get_stat("mlb", stat).family,
        simulated=False,
        split_unit="season",
        schema=feature_module.season_schema(stat),
        X=X,
        y=rows.stats[stat].astype(float),
        dates=season_date(rows.season),
        player_id=rows.player_id,
        game_id=rows.season,
        baselines={
            "recent_average": recent_average,
            "marcel": X[:, names.index(f"marcel_{stat}")],
            "fair_marcel": fair_marcel_count(
                projection, opportunities[:, 0], QUALIFIED_PLAYING_TIME_FLOOR[seasons.role]
            ),
        },
        props=_join_props(props, stat, rows.season, rows.player_id),
        offset_feature=f"marcel_{stat}",
        training_offset_adjustment=np.nan_to_num(np.log(season_league_rate / marcel_league_rate)),
    )


@dataclass(frozen=True)
class TimeSplit:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    validation_start: np.datetime64
    test_start: np.datetime64


def time_split(
    dates, *, split_unit: str = "date", validation_fraction: float = 0.15, test_fraction: float = 0.2
) -> TimeSplit:
    """Boolean masks by date: every train date < every validation date < every test date."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    unique_dates = np.unique(dates)
    if split_unit == "season":
        n_test, n_validation = 1, 1
    else:
        n_test = max(1, int(round(test_fraction * len(unique_dates))))
        n_validation = max(1, int(round(validation_fraction * len(unique_dates))))
    if len(unique_dates) < n_test + n_validation + 1:
        raise ValueError(f"need at least {n_test + n_validation + 1} distinct dates to split, got {len(unique_dates)}")
    test_start = unique_dates[-n_test]
    validation_start = unique_dates[-n_test - n_validation]
    return TimeSplit(
        train=dates < validation_start,
        validation=(dates >= validation_start) & (dates < test_start),
        test=dates >= test_start,
        validation_start=validation_start,
        test_start=test_start,
    )


@dataclass(frozen=True)
class TrainConfig:
    xgboost: XGBoostConfig = XGBoostConfig()
    torch: TorchConfig = TorchConfig()
    validation_fraction: float = 0.15
    test_fraction: float = 0.2


@dataclass(frozen=True)
class TestEvaluation:
    """Per test prop: the outcome, the line, the book's prices and every predictor's
    probabilities."""

    actual: np.ndarray
    line: np.ndarray
    over_decimal_odds: np.ndarray
    under_decimal_odds: np.ndarray
    predictions: dict[str, PropProbabilities]
    # The point forecast each predictor is scored on for MAE (module docstring).
    point_forecasts: dict[str, np.ndarray] = field(default_factory=dict)
    # The dataset row of each test prop (to score groups of players apart).
    row_index: np.ndarray | None = None


@dataclass(frozen=True)
class TrainResult:
    sport: str
    stat: str
    family: str
    simulated: bool
    schema: FeatureSchema
    artifacts: dict[str, bytes]
    metrics: dict[str, dict]
    ensemble_weights: dict[str, float]
    data_first_date: np.datetime64
    data_last_date: np.datetime64
    test_first_date: np.datetime64
    test_last_date: np.datetime64
    n_train: int
    n_validation: int
    reliability_png: bytes
    feature_importance_png: bytes
    train_seconds: float
    evaluation: TestEvaluation = field(repr=False)
    # Each model's line temperature (engine.calibration); 1.0 where validation had too few props.
    line_temperatures: dict[str, float] = field(default_factory=dict)


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def _baseline(
    family: str,
    mean: np.ndarray,
    fill: float,
    fit_rows: np.ndarray,
    y: np.ndarray,
    eval_rows: np.ndarray,
    lines: np.ndarray,
) -> PropProbabilities:
    mean = np.where(np.isnan(mean), fill, mean)
    mean = np.maximum(mean, 0.05)
    dispersion = fit_dispersion(family, mean[fit_rows], y[fit_rows])
    probabilities = prob_over_under_push(family, mean[eval_rows], dispersion, lines)
    return PropProbabilities(probabilities.p_over, probabilities.p_under, probabilities.p_push, mean[eval_rows])


def train_stat(
    dataset: StatDataset, *, seed: int, progress: Progress | None = None, config: TrainConfig = TrainConfig()
) -> TrainResult:
    """Train, weigh and evaluate the models of one sport/stat (see the module docstring)."""
    started = time.perf_counter()
    _report(progress, 0.0, f"{dataset.sport} {dataset.stat}: splitting {len(dataset.y)} rows by date")
    split = time_split(
        dataset.dates,
        split_unit=dataset.split_unit,
        validation_fraction=config.validation_fraction,
        test_fraction=config.test_fraction,
    )
    xgboost_model, torch_model, ensemble = _fit_models(dataset, split, seed=seed, config=config, progress=progress)
    _report(progress, 0.85, "evaluating on the test period")
    evaluation, scores = _evaluate(
        dataset, split, {"xgboost": xgboost_model, "torch": torch_model, "ensemble": ensemble}
    )
    _report(progress, 0.95, "drawing plots")
    reliability, importance = _plots(dataset, evaluation, xgboost_model)
    fit_dates = dataset.dates[split.train | split.validation]
    test_dates = dataset.dates[split.test]
    result = TrainResult(
        sport=dataset.sport,
        stat=dataset.stat,
        family=dataset.family,
        simulated=dataset.simulated,
        schema=dataset.schema,
        artifacts={
            "xgboost": xgboost_model.to_bytes(),
            "torch": torch_model.to_bytes(),
            "ensemble": ensemble.to_bytes(),
        },
        metrics=scores,
        ensemble_weights=dict(zip(ensemble.member_kinds, ensemble.weights.tolist(), strict=True)),
        data_first_date=fit_dates.min(),
        data_last_date=fit_dates.max(),
        test_first_date=test_dates.min(),
        test_last_date=test_dates.max(),
        n_train=int(split.train.sum()),
        n_validation=int(split.validation.sum()),
        reliability_png=reliability,
        feature_importance_png=importance,
        train_seconds=time.perf_counter() - started,
        evaluation=evaluation,
        line_temperatures={
            "xgboost": xgboost_model.line_temperature,
            "torch": torch_model.line_temperature,
            "ensemble": ensemble.line_temperature,
        },
    )
    _report(progress, 1.0, f"{dataset.sport} {dataset.stat}: done")
    return result


def _fit_models(dataset: StatDataset, split, *, seed: int, config: TrainConfig, progress: Progress | None):
    """(XGBoost member, torch member, ensemble): members fitted on the training period, their
    line temperatures and the ensemble's weights on the validation period's book props."""
    X, y = dataset.X, dataset.y
    common = {
        "sport": dataset.sport,
        "stat": dataset.stat,
        "family": dataset.family,
        "schema": dataset.schema,
        "seed": seed,
        "offset_feature": dataset.offset_feature,
    }
    train_x, train_y = X[split.train], y[split.train]
    val_x, val_y = X[split.validation], y[split.validation]
    adjustment = dataset.training_offset_adjustment
    if adjustment is not None:
        common["train_offset_adjustment"] = adjustment[split.train]
        common["validation_offset_adjustment"] = adjustment[split.validation]

    _report(progress, 0.05, "training the XGBoost member")
    xgboost_model = XGBoostDistModel.fit(train_x, train_y, val_x, val_y, config=config.xgboost, **common)
    _report(progress, 0.4, "training the PyTorch member")
    torch_model = TorchDistModel.fit(train_x, train_y, val_x, val_y, config=config.torch, **common)
    props = dataset.props
    in_validation = split.validation[props.row_index]
    calibration_x = X[props.row_index[in_validation]]
    calibration_lines = props.line[in_validation]
    calibration_actual = y[props.row_index[in_validation]]
    calibration_anchor = devig_proportional(
        props.over_decimal_odds[in_validation].astype(float), props.under_decimal_odds[in_validation].astype(float)
    )
    _report(progress, 0.8, "calibrating prices at the validation period's book lines")
    if in_validation.any():
        for member in (xgboost_model, torch_model):
            member.calibrate_lines(calibration_x, calibration_lines, calibration_actual, calibration_anchor)
    _report(progress, 0.83, "fitting ensemble weights on validation")
    ensemble = Ensemble.fit(
        [xgboost_model, torch_model],
        val_x,
        val_y,
        line_X=calibration_x,
        lines=calibration_lines,
        line_actual=calibration_actual,
        line_anchor=calibration_anchor,
    )
    if in_validation.any():
        ensemble.calibrate_lines(calibration_x, calibration_lines, calibration_actual, calibration_anchor)
    return xgboost_model, torch_model, ensemble


def _evaluate(dataset: StatDataset, split, models: dict) -> tuple[TestEvaluation, dict]:
    """The test period's book props priced by each model, the book, the baselines and (for
    simulated data) the oracle, with their scores."""
    X, y, family, props = dataset.X, dataset.y, dataset.family, dataset.props
    in_test = split.test[props.row_index]
    rows = props.row_index[in_test]
    lines = props.line[in_test]
    actual = y[rows]
    test_x = X[rows]
    over_odds = props.over_decimal_odds[in_test].astype(float)
    under_odds = props.under_decimal_odds[in_test].astype(float)
    book_p_over = devig_proportional(over_odds, under_odds)
    predictions: dict[str, PropProbabilities] = {
        name: model.predict_proba(test_x, lines, book_p_over) for name, model in models.items()
    }
    predictions["book"] = PropProbabilities(book_p_over, 1.0 - book_p_over, np.zeros_like(lines), lines)
    point_forecasts = {name: model.predict_median(test_x) for name, model in models.items()}
    point_forecasts["book"] = lines
    fit_rows = np.flatnonzero(split.train | split.validation)
    fill = float(np.mean(y[fit_rows]))
    for name, mean in dataset.baselines.items():
        predictions[name] = _baseline(family, mean, fill, fit_rows, y, rows, lines)
    if dataset.simulated:
        oracle_mean = props.oracle_mean[in_test]
        oracle = prob_over_under_push(family, oracle_mean, props.oracle_dispersion[in_test], lines)
        predictions["oracle"] = PropProbabilities(oracle.p_over, oracle.p_under, oracle.p_push, oracle_mean)
        oracle_dispersion = props.oracle_dispersion[in_test]
        point_forecasts["oracle"] = predictive_median(
            lambda half_lines: prob_over_under_push(family, oracle_mean, oracle_dispersion, half_lines).p_over,
            *median_bracket(family, oracle_mean, oracle_dispersion),
        )
    for name, prediction in predictions.items():
        point_forecasts.setdefault(name, prediction.mean)
    scores = {
        name: metrics.prop_metrics(p.p_over, p.p_under, point_forecasts[name], actual, lines)
        for name, p in predictions.items()
    }
    evaluation = TestEvaluation(
        actual=actual,
        line=lines,
        over_decimal_odds=over_odds,
        under_decimal_odds=under_odds,
        predictions=predictions,
        point_forecasts=point_forecasts,
        row_index=rows,
    )
    return evaluation, scores


def _plots(dataset: StatDataset, evaluation: TestEvaluation, xgboost_model) -> tuple[bytes, bytes]:
    """(reliability diagram of the test period, XGBoost feature importance) as PNG bytes."""
    predictions = evaluation.predictions
    went_over, settled = metrics.outcomes(evaluation.actual, evaluation.line)
    curves = {
        name: (
            metrics.conditional_p_over(predictions[name].p_over, predictions[name].p_under)[settled],
            went_over[settled],
        )
        for name in ("ensemble", "xgboost", "torch", "book")
    }
    label = f"{get_sport(dataset.sport).label} {get_stat(dataset.sport, dataset.stat).label}"
    reliability = metrics.reliability_png(
        curves, title=f"{label}: reliability on the test period", simulated=dataset.simulated
    )
    importance = metrics.feature_importance_png(
        xgboost_model.feature_importance(), title=f"{label}: XGBoost feature importance", simulated=dataset.simulated
    )
    return reliability, importance


# ----------------------------------------------------------------------------------------
# The demo plan: every catalogue stat on demo-sized data.

MLB_FIRST_TARGET_SEASON = 1990
MLB_LAST_TARGET_SEASON = 2024


def demo_sim_configs(*, seed: int, quick: bool = False):
    """League sizes for demo data (``quick``: smoke-test sizes)."""
    from predictions.engine.simulate import SimConfig

    if quick:
        return [
            SimConfig("nba", n_seasons=2, games_per_team=30, n_teams=8, seed=seed),
            SimConfig("nfl", n_seasons=2, games_per_team=12, n_teams=8, seed=seed),
            SimConfig("nhl", n_seasons=2, games_per_team=30, n_teams=8, seed=seed),
        ]
    return [
        SimConfig("nba", n_seasons=4, games_per_team=70, n_teams=14, seed=seed),
        SimConfig("nfl", n_seasons=6, games_per_team=17, n_teams=24, seed=seed),
        SimConfig("nhl", n_seasons=4, games_per_team=70, n_teams=14, seed=seed),
    ]


def build_demo_datasets(*, seed: int = 0, quick: bool = False) -> list[StatDataset]:
    """One dataset per catalogue stat: simulated leagues for NBA/NFL/NHL, Lahman for MLB."""
    from predictions.engine.lahman import load_batting_seasons, load_pitching_seasons
    from predictions.engine.simulate import simulate_league

    first_target = 2012 if quick else MLB_FIRST_TARGET_SEASON
    datasets = []
    for role_seasons in (load_batting_seasons(first_target - 3), load_pitching_seasons(first_target - 3)):
        for stat in get_sport("mlb").stats:
            if role_seasons.role in stat.roles:
                datasets.append(
                    build_season_dataset(
                        role_seasons,
                        stat.code,
                        first_target_season=first_target,
                        last_target_season=MLB_LAST_TARGET_SEASON,
                        seed=seed,
                    )
                )
    for sim_config in demo_sim_configs(seed=seed, quick=quick):
        league = simulate_league(sim_config)
        for stat in get_sport(sim_config.sport).stats:
            datasets.append(
                build_game_dataset(
                    league.stat_lines, league.games, league.props, sport=sim_config.sport, stat=stat.code
                )
            )
    return datasets


def quick_train_config() -> TrainConfig:
    return TrainConfig(
        xgboost=XGBoostConfig(n_estimators=40, early_stopping_rounds=10), torch=TorchConfig(epochs=4, patience=2)
    )


def train_all(
    datasets: list[StatDataset], *, seed: int = 0, config: TrainConfig = TrainConfig(), progress: Progress | None = None
) -> list[TrainResult]:
    """Train every dataset in turn; ``progress`` sees the overall fraction."""
    results = []
    for index, dataset in enumerate(datasets):

        def step(fraction: float, message: str, index=index) -> None:
            _report(progress, (index + fraction) / len(datasets), message)

        results.append(train_stat(dataset, seed=seed, progress=step, config=config))
    return results
