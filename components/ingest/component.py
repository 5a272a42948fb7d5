"""KFP wrapper of the ingest step."""

from typing import NamedTuple

from kfp.dsl import Dataset, Output


def ingest(
    source_uri: str, registry_uri: str, model_name: str, data: str, batch: Output[Dataset]
) -> NamedTuple("IngestOutputs", [("rows", int), ("sha256", str), ("source", str)]):
    """Reads the new batch (CSV or Parquet; path, PVC path or gs:// / s3:// URI) into Parquet.

    Args:
        source_uri: The batch file, or a directory whose oldest unprocessed batch is taken.
        registry_uri: The model registry directory (its batch ledger says what was processed).
        model_name: The model's name in the registry.
        data: JSON of the data settings (label, features, CSV options).
        batch: The batch as Parquet.
    """
    from driftgate.components.ingest import core
    from driftgate.data.dataspec import DataSettings
    from driftgate.observe import logs
    from driftgate.registry.ledger import Ledger
    from driftgate.registry.store import Registry

    logs.setup()
    ledger = Ledger(Registry(registry_uri, model_name))
    result = core.ingest(
        source_uri, batch.path, DataSettings.model_validate_json(data), ledger.processed_sources()
    )
    batch.metadata.update(result.metadata())
    return (result.rows, result.sha256, result.source)
