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
