"""A custom entry point driftgate's code has never seen: HistGradientBoosting in a Pipeline."""

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder


def train(ctx):
    categorical = [f for f in ctx.features if ctx.kinds[f] == "categorical"]
    encode = ColumnTransformer(
        [
            (
                "ordinal",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                categorical,
            )
        ],
        remainder="passthrough",
    )
    model = HistGradientBoostingClassifier(random_state=ctx.seed, **ctx.params)
    return Pipeline([("encode", encode), ("model", model)]).fit(
        ctx.train[ctx.features], ctx.train[ctx.label]
    )


def returns_a_string(ctx):
    return "not a model"


def wrong_classes(ctx):
    from sklearn.dummy import DummyClassifier

    y = ctx.train[ctx.label].map(lambda v: v.upper())
    return DummyClassifier().fit(ctx.train[ctx.features], y)


class _TwoColumns:
    def __init__(self, classes):
        self.classes_ = classes

    def predict(self, x):
        return [self.classes_[0]] * len(x)

    def predict_proba(self, x):
        return [[0.5, 0.5]] * len(x)


def wrong_shape(ctx):
    return _TwoColumns(ctx.classes)


def predict_fails(ctx):
    model = _TwoColumns(ctx.classes)
    model.predict_proba = lambda x: 1 / 0
    return model
