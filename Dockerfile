# The driftgate component images, both from this file and the same lock (KFP base_image):
#
#   docker build -t driftgate:0.1.0 .                                  full image: every step,
#                                                                      CPU TensorFlow (default)
#   docker build --build-arg VARIANT=gpu -t driftgate:0.1.0-gpu .      CUDA-enabled TensorFlow
#   docker build --target gate -t driftgate:0.1.0-gate .               gate image: ingest,
#                                                                      validate, check, decide and
#                                                                      notify; no TensorFlow, TFMA
#                                                                      or Beam
#
# Air-gapped builds: `make wheelhouse` downloads the locked wheels into wheelhouse/; when it holds
# wheels, pip installs from there with --no-index and the build needs no network at all.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build-base
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONFIG_FILE=/src/pip.conf \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first, from the lock files and the wheelhouse alone, so that editing the sources
# (or the README) does not reinstall 3.5 GB of packages.
COPY requirements.lock requirements-gpu.lock requirements-gate.txt ./
COPY wheelhouse/ wheelhouse/
# Exactly the lock, nothing resolved at build time: a package missing from the lock fails
# `pip check` below, never a silent fetch. POSIX sh: podman's default OCI format ignores SHELL.
RUN set -eu; \
    : > pip.conf; \
    if [ -n "$(find wheelhouse -name '*.whl' -print -quit)" ]; then \
        printf '[global]\nno-index = true\nfind-links = /src/wheelhouse\n' > pip.conf; \
    fi; \
    python3 -m venv /opt/driftgate; \
    grep -E '^(setuptools|wheel|packaging)==' requirements.lock > /tmp/build-tools.txt; \
    /opt/driftgate/bin/pip install --no-deps -r /tmp/build-tools.txt

# The gate's subset of the lock (scripts/gate_requirements.py), then driftgate without its deps.
# `pip check` may find only driftgate's own training requirements missing. The packages' test
# suites and the installers (pip, setuptools, wheel, packaging) are left out of this image.
FROM build-base AS gate-build
RUN /opt/driftgate/bin/pip install --no-deps -r requirements-gate.txt
COPY pyproject.toml setup.py README.md ./
COPY driftgate/ driftgate/
COPY components/ components/
COPY pipelines/ pipelines/
RUN set -eu; \
    /opt/driftgate/bin/pip install --no-deps --no-build-isolation --no-index .; \
    /opt/driftgate/bin/pip check > /tmp/pip-check.txt || true; \
    if grep -v '^driftgate ' /tmp/pip-check.txt; then exit 1; fi; \
    find /opt/driftgate/lib/python3.11/site-packages -mindepth 2 -type d -name tests -prune \
        -exec rm -rf {} +; \
    /opt/driftgate/bin/python -m pip uninstall --yes --quiet pip setuptools wheel packaging; \
    /opt/driftgate/bin/python -I -c "import sys, kfp.dsl.executor_main; \
        [__import__(f'driftgate.components.{s}.core') for s in \
         ('ingest', 'validate', 'check', 'decide', 'notify')]; \
        heavy = {'tensorflow', 'tensorflow_model_analysis', 'apache_beam'} & set(sys.modules); \
        sys.exit(f'the gate imports {heavy}' if heavy else 0)"

FROM build-base AS build
ARG VARIANT=cpu
RUN set -eu; \
    case "$VARIANT" in cpu|gpu) ;; *) echo "VARIANT must be cpu or gpu, not $VARIANT" >&2; exit 1 ;; esac; \
    gpu_lock=/dev/null; \
    if [ "$VARIANT" = gpu ]; then gpu_lock=requirements-gpu.lock; fi; \
    /opt/driftgate/bin/pip install --no-deps -r requirements.lock -r "$gpu_lock"
COPY pyproject.toml setup.py README.md ./
COPY driftgate/ driftgate/
COPY components/ components/
COPY pipelines/ pipelines/
RUN /opt/driftgate/bin/pip install --no-deps --no-build-isolation --no-index . \
 && /opt/driftgate/bin/pip check \
 && /opt/driftgate/bin/python -I -c "import driftgate.pipelines.retrain, tensorflow_model_analysis"

FROM ${BASE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="driftgate" \
      org.opencontainers.image.description="Drift-gated retraining components for Kubeflow Pipelines" \
      org.opencontainers.image.licenses="Apache-2.0"
# Non-root, and nothing to write but /tmp (mount an emptyDir there when the root is read-only).
ENV PATH=/opt/driftgate/bin:$PATH \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2
USER 10001:10001
WORKDIR /tmp
CMD ["driftgate", "--help"]

FROM runtime AS gate
COPY --from=gate-build /opt/driftgate /opt/driftgate

# The full image, the default target: every step, TensorFlow, TFMA and Beam included.
FROM runtime
COPY --from=build /opt/driftgate /opt/driftgate
