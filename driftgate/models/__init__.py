"""Models and their quality.

Tasks and metrics, scoring (with or without TensorFlow), serving layouts, the mirror of the
deployed model, estimated performance, learning curves, pruning and quantisation, and the
contract with a team's own trainer.
"""
