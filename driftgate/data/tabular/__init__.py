"""Reading tabular batches (CSV or Parquet, local or remote) with errors a user can act on.

``files`` finds and opens files and tells the formats apart, ``csvfile`` streams CSV and
``parquetfile`` reads and writes Parquet.
"""
