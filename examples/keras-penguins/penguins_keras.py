"""A custom Keras architecture: embeddings for categorical features, a residual dense block."""

import keras
import numpy as np
import tensorflow as tf


def train(ctx):
    """Builds, fits and returns a Keras model with one named input per feature."""
    keras.utils.set_random_seed(ctx.seed)
    inputs, encoded = {}, []
    for name in ctx.features:
        if ctx.kinds[name] == "numeric":
            inputs[name] = keras.Input(shape=(1,), name=name, dtype="float32")
            values = ctx.train[name].to_numpy(dtype=np.float32)
            norm = keras.layers.Normalization(mean=np.nanmean(values), variance=np.nanvar(values))
            cleaned = keras.layers.Lambda(lambda x: tf.where(tf.math.is_nan(x), 0.0, x))(
                norm(inputs[name])
            )
            encoded.append(cleaned)
        else:
            inputs[name] = keras.Input(shape=(1,), name=name, dtype="string")
            lookup = keras.layers.StringLookup(vocabulary=sorted(set(ctx.train[name])))
            embed = keras.layers.Embedding(lookup.vocabulary_size(), 4)(lookup(inputs[name]))
            encoded.append(keras.layers.Flatten()(embed))
    x = keras.layers.Concatenate()(encoded)
    width = ctx.params.get("width", 32)
    x = keras.layers.Dense(width, activation="relu")(x)
    x = keras.layers.Add()([x, keras.layers.Dense(width, activation="relu")(x)])
    outputs = keras.layers.Dense(len(ctx.classes), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    data = (
        tf.data.Dataset.from_tensor_slices((ctx.inputs(ctx.train), ctx.targets(ctx.train)))
        .shuffle(1024, seed=ctx.seed)
        .batch(32)
    )
    model.fit(
        data,
        epochs=ctx.params.get("epochs", 40),
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(str(ctx.tensorboard_dir))],
    )
    return model
