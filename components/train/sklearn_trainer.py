"""scikit-learn training: imputation, scaling and one-hot encoding in one pipeline."""

from __future__ import annotations

import logging
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from driftgate.schema import FeatureKinds
from driftgate.scoring import SKLEARN_FILE

log = logging.getLogger(__name__)


def _estimator(name: str, seed: int):
    return {
        "logistic_regression": LogisticRegression(max_iter=2000, random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=200, random_state=seed),
        "gradient_boosting": HistGradientBoostingClassifier(random_state=seed),
    }[name]


def build_pipeline(kinds: FeatureKinds, settings, seed: int) -> Pipeline:
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
    estimator = _estimator(settings.estimator, seed).set_params(**settings.params)
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


SEARCH_SPACE = {
    "logistic_regression": {"model__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
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
    x: dict[str, np.ndarray], y: np.ndarray, kinds: FeatureKinds, settings, tuning, seed: int
) -> tuple:
    """Randomized, stratified cross-validated search over the estimator's main parameters.

    Returns:
        The settings with the best parameters, and a summary of the search.
    """
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

    folds = min(tuning.folds, int(np.bincount(y).min()))
    if folds < 2:
        log.warning("tuning skipped: a class has fewer than 2 training rows")
        return settings, {"skipped": "a class has fewer than 2 training rows"}
    space = SEARCH_SPACE[settings.estimator]
    grid_size = int(np.prod([len(v) for v in space.values()]))
    search = RandomizedSearchCV(
        build_pipeline(kinds, settings, seed),
        space,
        n_iter=min(tuning.max_trials, grid_size),
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        random_state=seed,
        scoring="accuracy",
    )
    search.fit(pd.DataFrame(x)[list(kinds.numeric) + list(kinds.categorical)], y)
    best = {k.removeprefix("model__"): v for k, v in search.best_params_.items()}
    log.info(
        "tuning: best of %d candidates: %s (cv accuracy %.4f)",
        len(search.cv_results_["params"]),
        best,
        search.best_score_,
    )
    chosen = settings.model_copy(update={"params": {**settings.params, **best}})
    summary = {
        "trials": len(search.cv_results_["params"]),
        "objective": f"accuracy, {folds}-fold CV",
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
) -> tuple[dict, dict, str]:
    """Fits the pipeline and pickles it to ``model.joblib`` (checksummed by the caller).

    Returns:
        Training accuracy, hyperparameters and the model format.
    """
    frame = pd.DataFrame(x)[list(kinds.numeric) + list(kinds.categorical)]
    pipeline = build_pipeline(kinds, settings, seed)
    log.info("training scikit-learn %s on %s rows", settings.estimator, f"{len(y):,}")
    pipeline.fit(frame, y)
    joblib.dump(pipeline, model_dir / SKLEARN_FILE)
    accuracy = float((pipeline.predict(frame) == y).mean())
    return {"final_accuracy": round(accuracy, 6)}, settings.model_dump(), "sklearn"
