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

from driftgate.schema import FeatureKinds
from driftgate.scoring import SKLEARN_FILE

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
) -> tuple[dict, dict, str]:
    """Fits the pipeline and pickles it to ``model.joblib`` (checksummed by the caller).

    Returns:
        Training accuracy (RMSE for regression), hyperparameters and the model format.
    """
    frame = pd.DataFrame(x)[list(kinds.numeric) + list(kinds.categorical)]
    pipeline = build_pipeline(kinds, settings, seed, task)
    log.info("training scikit-learn %s (%s) on %s rows", settings.estimator, task, f"{len(y):,}")
    pipeline.fit(frame, y)
    joblib.dump(pipeline, model_dir / SKLEARN_FILE)
    predicted = pipeline.predict(frame)
    if task == "regression":
        rmse = float(np.sqrt(np.mean((predicted - y) ** 2)))
        return {"final_rmse": round(rmse, 6)}, settings.model_dump(), "sklearn"
    accuracy = float((predicted == y).mean())
    return {"final_accuracy": round(accuracy, 6)}, settings.model_dump(), "sklearn"
