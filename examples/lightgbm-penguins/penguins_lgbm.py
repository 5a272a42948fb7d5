"""A LightGBM classifier behind one-hot encoding: the team's own code, no driftgate glue."""

from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


def train(ctx):
    """Fits on ctx.train and returns the fitted pipeline (driftgate saves and serves it)."""
    categorical = [f for f in ctx.features if ctx.kinds[f] == "categorical"]
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), categorical)],
        remainder="passthrough",
    )
    model = LGBMClassifier(random_state=ctx.seed, verbose=-1, min_child_samples=5, **ctx.params)
    pipeline = Pipeline([("encode", encode), ("model", model)])
    return pipeline.fit(ctx.train[ctx.features], ctx.train[ctx.label])
