"""A gradient-boosted regressor of disease progression (the team's own code)."""

from sklearn.ensemble import HistGradientBoostingRegressor


def train(ctx):
    """Fits on ctx.train and returns the fitted regressor."""
    model = HistGradientBoostingRegressor(random_state=ctx.seed, **ctx.params)
    return model.fit(ctx.train[ctx.features], ctx.train[ctx.label])
