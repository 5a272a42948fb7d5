"""Train: fit a candidate on the reference window plus the new labelled batch."""
