"""A real MLServer from the package index, in its own virtual environment, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from side_env import ensure_env

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "mlserver-venv"


def ensure_venv() -> Path:
    """The MLServer environment, built once (reused while requirements-mlserver.txt holds)."""
    pins = ROOT / "requirements-mlserver.txt"
    bin_dir = ensure_env(VENV, pins, "-c", str(ROOT / "requirements.lock"), "-r", str(pins))
    return bin_dir / "mlserver"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(model_dir: Path, log: Path, timeout: float = 120.0) -> Iterator[str]:
    """Runs ``mlserver start model_dir`` on loopback; yields its HTTP base URL; stops it by PID."""
    executable = ensure_venv()
    port = _free_port()
    env = {
        **os.environ,
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(_free_port()),
        "MLSERVER_METRICS_PORT": str(_free_port()),
        "MLSERVER_PARALLEL_WORKERS": "0",
    }
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(executable), "start", str(model_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=model_dir,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"MLServer exited: {log.read_text()[-2000:]}"
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{base}/v2/health/ready", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            assert time.monotonic() < deadline, f"MLServer not ready: {log.read_text()[-2000:]}"
            time.sleep(0.5)
        yield base
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def infer(base: str, model: str, inputs: dict, numeric: list[str]) -> dict:
    """A V2 REST inference request: one input per feature (``FP32`` numbers, ``BYTES`` text)."""
    body = {
        "inputs": [
            {
                "name": name,
                "datatype": "FP32" if name in numeric else "BYTES",
                "shape": [len(values)],
                "data": [float(v) if name in numeric else str(v) for v in values],
            }
            for name, values in inputs.items()
        ]
    }
    request = urllib.request.Request(
        f"{base}/v2/models/{model}/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)
