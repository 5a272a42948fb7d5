"""The statistics as Apache Beam transforms, for data beyond one machine.

The same accumulator that the pipeline's check step folds batches into is a Beam ``CombineFn``:
partial statistics computed on different workers merge exactly. Inputs are split by Parquet row
group (or by file, for CSV), so DirectRunner, Dataflow, Flink and Spark runners parallelise the
read. Reference statistics take two stages: a mergeable row sample places the bins, then the
counts are combined under those bins.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from driftgate.data.schema import FeatureKinds
from driftgate.data.tabular.csvfile import CsvOptions, iter_csv_typed
from driftgate.data.tabular.files import detect_format, filesystem, resolve
from driftgate.data.tabular.parquetfile import open_parquet
from driftgate.stats.accumulator import DatasetStats
from driftgate.stats.binning import Binning, binning_from_sample
from driftgate.stats.sample import RowSampler


def splits(files: list[str]) -> list[tuple[str, int | None]]:
    """Units of parallel work: (file, row group) for Parquet, (file, None) for CSV."""
    units: list[tuple[str, int | None]] = []
    for path in files:
        source = resolve(path)
        if detect_format(source) == "parquet":
            units += [(path, group) for group in range(open_parquet(source).num_row_groups)]
        else:
            units.append((path, None))
    return units


class ReadSplit(beam.DoFn):
    """Streams one split as record batches of the features, typed by kind."""

    def __init__(self, kinds: FeatureKinds, csv: CsvOptions) -> None:
        self.types = {n: pa.float64() for n in kinds.numeric} | {
            n: pa.string() for n in kinds.categorical
        }
        self.csv = csv

    def process(self, split: tuple[str, int | None]) -> Iterator[pa.RecordBatch]:
        """Yields the split's record batches."""
        path, group = split
        source = resolve(path)
        if group is None:
            yield from iter_csv_typed(source, self.csv, self.types)
        else:
            text = [name for name, kind in self.types.items() if kind == pa.string()]
            parquet: pq.ParquetFile = open_parquet(source, read_dictionary=text)
            yield from parquet.iter_batches(row_groups=[group], columns=list(self.types))


class StatsCombineFn(beam.CombineFn):
    """Combines record batches into :class:`DatasetStats` under a fixed binning."""

    def __init__(self, binning: Binning) -> None:
        self.binning = binning

    def create_accumulator(self) -> DatasetStats:
        """An empty statistic."""
        return DatasetStats(self.binning)

    def add_input(self, accumulator: DatasetStats, batch: pa.RecordBatch) -> DatasetStats:
        """Folds one batch in."""
        return accumulator.add(batch)

    def merge_accumulators(self, accumulators) -> DatasetStats:
        """Adds partial statistics of disjoint rows."""
        merged = DatasetStats(self.binning)
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator: DatasetStats) -> DatasetStats:
        """The combined statistics."""
        return accumulator


class SampleCombineFn(beam.CombineFn):
    """Combines record batches into a uniform row sample (bottom-k, mergeable).

    Every accumulator draws its priorities from its own seed, taken from the operating system's
    entropy: accumulators that shared a seed would give the i-th row of every shard the same
    priority, and the merged sample would keep the same rows of every shard. The sample is
    therefore uniform but not reproducible from run to run.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity

    def create_accumulator(self) -> RowSampler:
        """An empty sample with a fresh seed of its own."""
        return RowSampler(self.capacity, seed=None)

    def add_input(self, accumulator: RowSampler, batch: pa.RecordBatch) -> RowSampler:
        """Offers a batch's rows."""
        accumulator.add(batch)
        return accumulator

    def merge_accumulators(self, accumulators) -> RowSampler:
        """Keeps the ``capacity`` rows of smallest priority across the samples."""
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator: RowSampler) -> pa.Table | None:
        """The sampled rows."""
        return accumulator.rows


def write_proto(stats: DatasetStats, output: str) -> None:
    """Writes statistics as a binary DatasetFeatureStatisticsList (local path or URI)."""
    fs, path = filesystem(output)
    with fs.open_output_stream(path) as handle:
        handle.write(stats.to_proto("statistics").SerializeToString())


def read_proto(path: str) -> DatasetStats:
    """Reads statistics written by :func:`write_proto` (local path or ``gs://`` / ``s3://`` URI)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from driftgate.stats.accumulator import from_proto

    fs, where = filesystem(path)
    with fs.open_input_stream(where) as handle:
        return from_proto(statistics_pb2.DatasetFeatureStatisticsList.FromString(handle.read()))


def run_stats(
    files: list[str],
    kinds: FeatureKinds,
    csv: CsvOptions,
    output: str,
    pipeline_args: list[str],
    *,
    binning: Binning | None = None,
    bins: int = 10,
    top_k: int = 20,
    sample_size: int = 20000,
) -> DatasetStats:
    """Computes statistics with a Beam pipeline and returns them to the caller.

    Args:
        files: Input files (already expanded).
        kinds: Numeric and categorical features.
        csv: CSV parsing options.
        output: Where the pipeline writes the statistics (on the runner's filesystem).
        pipeline_args: Beam pipeline options, e.g. ``["--runner=DirectRunner"]``.
        binning: Fixed bins (a reference's); None places new bins from a sample first.
        bins: Numeric bins when placing new bins.
        top_k: Tracked categorical values when placing new bins.
        sample_size: Rows sampled to place new bins.

    Returns:
        The combined statistics, read back from ``output``.
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    with beam.Pipeline(options=PipelineOptions(pipeline_args)) as pipeline:
        batches = (
            pipeline
            | "Splits" >> beam.Create(splits(files))
            | "Reshuffle" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(ReadSplit(kinds, csv))
        )
        if binning is None:
            binning_view = beam.pvalue.AsSingleton(
                batches
                | "Sample" >> beam.CombineGlobally(SampleCombineFn(sample_size))
                | "PlaceBins"
                >> beam.Map(
                    lambda sample: binning_from_sample(sample, kinds, bins=bins, top_k=top_k)
                )
            )
            combined = (
                batches
                | "Fold" >> beam.Map(lambda batch, b: (b, batch), binning_view)
                | "Combine" >> beam.CombineGlobally(_LateBinningCombineFn())
            )
        else:
            combined = batches | "Combine" >> beam.CombineGlobally(StatsCombineFn(binning))
        combined | "Write" >> beam.Map(write_proto, output)
    return read_proto(output)


class _LateBinningCombineFn(beam.CombineFn):
    """A :class:`StatsCombineFn` whose binning arrives with the elements (from a side input)."""

    def create_accumulator(self) -> DatasetStats | None:
        return None

    def add_input(self, accumulator: DatasetStats | None, element) -> DatasetStats:
        binning, batch = element
        return (accumulator or DatasetStats(binning)).add(batch)

    def merge_accumulators(self, accumulators) -> DatasetStats | None:
        merged = None
        for accumulator in accumulators:
            if accumulator is not None:
                merged = accumulator if merged is None else merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator: DatasetStats | None) -> DatasetStats | None:
        return accumulator
