"""Ingest: read the new batch (CSV or Parquet, local path or URI) into a Parquet dataset."""
