"""scikit-learn training: imputation, scaling and one-hot encoding in one pipeline.

For a regression label each estimator name maps to its regressor: ``logistic_regression`` to a
ridge regression, ``random_forest`` and ``gradient_boosting`` to their regressor counterparts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from driftgate.components.train.warm import SCRATCH, WARM_START, Mode, new_categories
from driftgate.data.schema import FeatureKinds
from driftgate.models.scoring import SKLEARN_FILE
from driftgate.registry.integrity import VerifiedDir

log = logging.getLogger(__name__)


def _estimator(name: str, seed: int, task: str):
    if task == "regression":
        return {
            "logistic_regression": Ridge(random_state=seed),
            "random_forest": RandomForestRegressor(n_estimators=200, random_state=seed),
            "gradient_boosting": HistGradientBoostingRegressor(random_state=seed),
        }[name]
    return {
        "logistic_regression": LogisticRegression(max_iter=2000, random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=200, random_state=seed),
        "gradient_boosting": HistGradientBoostingClassifier(random_state=seed),
    }[name]


def build_pipeline(
    kinds: FeatureKinds, settings, seed: int, task: str = "classification"
) -> Pipeline:
    """The preprocessing and estimator pipeline (unfitted)."""
    preprocess = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]),
                list(kinds.numeric),
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(kinds.categorical)),
        ]
    )
    estimator = _estimator(settings.estimator, seed, task).set_params(**settings.params)
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


SEARCH_SPACE = {
    "logistic_regression": {"model__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
    "ridge": {"model__alpha": [0.01, 0.1, 1.0, 10.0, 100.0]},
    "random_forest": {
        "model__n_estimators": [100, 200, 400],
        "model__max_depth": [None, 5, 10, 20],
        "model__min_samples_leaf": [1, 2, 5],
    },
    "gradient_boosting": {
        "model__learning_rate": [0.03, 0.1, 0.3],
        "model__max_leaf_nodes": [15, 31, 63],
        "model__l2_regularization": [0.0, 0.1, 1.0],
    },
}


def tune(
    x: dict[str, np.ndarray],
    y: np.ndarray,
    kinds: FeatureKinds,
    settings,
    tuning,
    seed: int,
    task: str = "classification",
) -> tuple:
    """Randomized cross-validated search (stratified for classifiers) over the main parameters.

    Returns:
        The settings with the best parameters, and a summary of the search.
    """
    from sklearn.model_selection import KFold, RandomizedSearchCV, StratifiedKFold

    regression = task == "regression"
    folds = min(tuning.folds, len(y) if regression else int(np.bincount(y).min()))
    if folds < 2:
        log.warning("tuning skipped: fewer than 2 training rows per fold")
        return settings, {"skipped": "fewer than 2 training rows per fold"}
    name = "ridge" if regression and settings.estimator == "logistic_regression" else None
    space = SEARCH_SPACE[name or settings.estimator]
    grid_size = int(np.prod([len(v) for v in space.values()]))
    scoring = "neg_root_mean_squared_error" if regression else "accuracy"
    split = KFold if regression else StratifiedKFold
    search = RandomizedSearchCV(
        build_pipeline(kinds, settings, seed, task),
        space,
        n_iter=min(tuning.max_trials, grid_size),
        cv=split(folds, shuffle=True, random_state=seed),
        random_state=seed,
        scoring=scoring,
    )
    search.fit(pd.DataFrame(x)[list(kinds.numeric) + list(kinds.categorical)], y)
    best = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
    log.info(
        "tuning: best of %d candidates: %s (cv %s %.4f)",
        len(search.cv_results_["params"]),
        best,
        scoring,
        search.best_score_,
    )
    chosen = settings.model_copy(update={"params": {**settings.params, **best}})
    summary = {
        "trials": len(search.cv_results_["params"]),
        "objective": f"{scoring}, {folds}-fold CV",
        "best_score": float(search.best_score_),
        "best": best,
    }
    return chosen, summary


def train_and_save(
    x: dict[str, np.ndarray],
    y: np.ndarray,
    kinds: FeatureKinds,
    settings,
    seed: int,
    model_dir: Path,
    task: str = "classification",
    start: Pipeline | None = None,
    warm=None,
) -> tuple[dict, dict, str]:
    """Fits the pipeline and pickles it to ``model.joblib`` (checksummed by the caller).

    With ``start`` (a warm start) the deployed pipeline keeps its fitted preprocessing and its
    estimator continues on the rows, as ``warm`` (:class:`WarmStartSettings`) says.

    Returns:
        Training accuracy (RMSE for regression), hyperparameters and the model format.
    """
    frame = pd.DataFrame(x)[list(kinds.numeric) + list(kinds.categorical)]
    log.info("training scikit-learn %s (%s) on %s rows", settings.estimator, task, f"{len(y):,}")
    if start is None:
        pipeline = build_pipeline(kinds, settings, seed, task)
        pipeline.fit(frame, y)
    else:
        pipeline = start
        _continue(pipeline["model"], pipeline["preprocess"].transform(frame), y, warm)
    joblib.dump(pipeline, model_dir / SKLEARN_FILE)
    predicted = pipeline.predict(frame)
    if task == "regression":
        rmse = float(np.sqrt(np.mean((predicted - y) ** 2)))
        return {"final_rmse": round(rmse, 6)}, settings.model_dump(), "sklearn"
    accuracy = float((predicted == y).mean())
    return {"final_accuracy": round(accuracy, 6)}, settings.model_dump(), "sklearn"


WARM = {  # estimator class -> the parameter a warm start raises, and by which setting
    "LogisticRegression": ("max_iter", "epochs"),
    "RandomForestClassifier": ("n_estimators", "estimators"),
    "RandomForestRegressor": ("n_estimators", "estimators"),
}
UNSOUND = {  # estimators whose warm_start exists but is wrong on new rows
    "HistGradientBoostingClassifier": "re-bins the new rows while its earlier trees split on "
    "the old bins (measured: it corrupts the deployed model)",
}
UNSOUND["HistGradientBoostingRegressor"] = UNSOUND["HistGradientBoostingClassifier"]


def warm_start_pipeline(deployed: VerifiedDir, kinds: FeatureKinds, settings, x) -> Mode:
    """A warm start from the deployed pipeline, or the reason it falls back to scratch.

    Args:
        deployed: The deployed version (same family, features and classes as the window).
        kinds: Feature kinds.
        settings: :class:`TrainingSettings`.
        x: Raw feature arrays of the training rows.
    """
    version = f"version {deployed.path.name}"
    pipeline = joblib.load(deployed.path / SKLEARN_FILE)
    estimator = pipeline["model"]
    kind = type(estimator).__name__
    if deployed.metadata.get("hyperparameters", {}).get("estimator") != settings.sklearn.estimator:
        return Mode(SCRATCH, f"deployed {version} is a {kind}, not {settings.sklearn.estimator}")
    if kind in UNSOUND:
        return Mode(SCRATCH, f"{kind}'s warm_start {UNSOUND[kind]}")
    if kind not in WARM or getattr(estimator, "solver", "") == "liblinear":
        return Mode(SCRATCH, f"{kind} has no warm_start or partial_fit driftgate can use")
    encoder = pipeline["preprocess"].named_transformers_["categorical"]
    known = [[str(v) for v in c] for c in getattr(encoder, "categories_", [])]
    added = new_categories(known, kinds, x) if kinds.categorical else {}
    if added:
        return Mode(
            SCRATCH,
            f"the schema changed since {version} (new categories {added}): the one-hot "
            "encoding would widen",
        )
    parameter, setting = WARM[kind]
    more = getattr(settings.warm_start, setting)
    return Mode(
        WARM_START,
        f"continued {version}'s {kind} with warm_start ({parameter} +{more}) on its fitted "
        "preprocessing; the schema is unchanged",
        pipeline,
    )


def _continue(estimator, features, y: np.ndarray, warm) -> None:
    """Continues a fitted estimator on new rows with ``warm_start``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    kind = type(estimator).__name__
    parameter, setting = WARM[kind]
    more = getattr(warm, setting)
    if more == 0:
        return
    # logistic regression: iterations of this fit, which starts from the deployed coefficients
    total = more if kind == "LogisticRegression" else len(estimator.estimators_) + more
    estimator.set_params(warm_start=True, **{parameter: total})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few iterations by design
        estimator.fit(features, y)
    estimator.set_params(warm_start=False)
