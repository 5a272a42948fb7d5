"""s3:// for real: ingest and statistics against moto's S3 server on loopback.

moto runs from its own virtual environment (``make .venv-moto/.installed``; its pins are not
ours), as its own process, stopped by its PID. gs:// goes through the same pyarrow filesystem
layer but no GCS emulator installs from the package index here, so it is untested.
"""

import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from driftgate.components.ingest.core import ingest
from driftgate.data.dataspec import DataSettings
from driftgate.data.tabular.files import expand
from driftgate.errors import DataError
from driftgate.pipelines.cli import main
from driftgate.registry.locking import file_lock
from driftgate.stats.beam import read_proto

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent
MOTO = ROOT / ".venv-moto"
BUCKET = "driftgate-batches"
SETTINGS = DataSettings(label="species")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on 127.0.0.1, with the AWS environment pointing at it."""
    (ROOT / ".cache").mkdir(exist_ok=True)  # the lock keeps two test workers from both building it
    with file_lock(ROOT / ".cache" / "venv-moto.lock", timeout=1800, holder="another test worker"):
        if not (MOTO / ".installed").exists():
            subprocess.run(["make", "-s", "-C", str(ROOT), ".venv-moto/.installed"], check=True)
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "w") as sink:
        server = subprocess.Popen(
            [str(MOTO / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        fs = pafs.S3FileSystem(
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
            endpoint_override=f"127.0.0.1:{port}",
            scheme="http",
            allow_bucket_creation=True,
        )
        fs.create_dir(BUCKET)
        yield fs
    finally:
        server.terminate()
        server.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _upload(fs: pafs.S3FileSystem, key: str, data: bytes) -> str:
    with fs.open_output_stream(f"{BUCKET}/{key}") as handle:
        handle.write(data)
    return f"s3://{BUCKET}/{key}"


@pytest.fixture(scope="module")
def batches(s3, penguins_frame, tmp_path_factory):
    """Two years of penguins in the bucket: 2008 as Parquet, 2009 as CSV."""
    local = tmp_path_factory.mktemp("batches")
    penguins_frame[penguins_frame.year == 2008].to_parquet(local / "2008.parquet", index=False)
    penguins_frame[penguins_frame.year == 2009].to_csv(local / "2009.csv", index=False)
    for path in local.iterdir():
        _upload(s3, f"batches/{path.name}", path.read_bytes())
    return local


def test_ingest_reads_the_newest_batch_of_a_bucket_prefix(batches, tmp_path):
    result = ingest(f"s3://{BUCKET}/batches/", tmp_path / "batch.parquet", SETTINGS)
    local = (batches / "2009.csv").read_bytes()
    assert result.source == f"s3://{BUCKET}/batches/2009.csv"
    assert (result.format, result.bytes) == ("csv", len(local))
    assert result.sha256 == hashlib.sha256(local).hexdigest()
    assert result.rows == pq.read_table(tmp_path / "batch.parquet").num_rows == 120


def test_a_missing_object_is_one_line(batches, tmp_path):
    with pytest.raises(DataError, match="does not exist") as caught:
        ingest(f"s3://{BUCKET}/batches/1999.csv", tmp_path / "x.parquet", SETTINGS)
    assert caught.value.one_line().startswith(f"s3://{BUCKET}/batches/1999.csv: does not exist")
    assert not (tmp_path / "x.parquet").exists()


def test_stats_reads_globs_and_writes_statistics_in_the_bucket(batches, tmp_path, s3):
    assert expand([f"s3://{BUCKET}/batches/*.parquet"]) == [f"s3://{BUCKET}/batches/2008.parquet"]
    reference = f"s3://{BUCKET}/stats/reference.pb"
    assert (
        main(["stats", "--input", f"s3://{BUCKET}/batches/*.parquet", "--output", reference]) == 0
    )
    local_reference = str(tmp_path / "reference.pb")
    local_input = str(batches / "2008.parquet")
    assert main(["stats", "--input", local_input, "--output", local_reference]) == 0
    remote, local = read_proto(reference), read_proto(local_reference)
    assert remote.rows == local.rows == 114
    assert remote.binning == local.binning
    for name, expected in local.features.items():
        assert remote.features[name].counts.tolist() == expected.counts.tolist()
    current = tmp_path / "current.pb"
    args = ["stats", "--input", f"s3://{BUCKET}/batches/2009.csv", "--reference", reference]
    assert main([*args, "--output", str(current)]) == 0
    assert read_proto(str(current)).rows == 120
