"""The data a run reads: batch discovery, the data settings, the schema and tabular readers."""
