# The driftgate component image: every pipeline step runs in it (KFP base_image).
#
#   docker build -t driftgate:0.1.0 .                                  CPU TensorFlow (default)
#   docker build --build-arg VARIANT=gpu -t driftgate:0.1.0-gpu .      CUDA-enabled TensorFlow
#
# Air-gapped builds: `make wheelhouse` downloads the locked wheels into wheelhouse/; when it holds
# wheels, pip installs from there with --no-index and the build needs no network at all.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG VARIANT=cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY requirements.lock requirements-gpu.lock pyproject.toml setup.py README.md ./
COPY wheelhouse/ wheelhouse/
COPY driftgate/ driftgate/
COPY components/ components/
COPY pipelines/ pipelines/
RUN case "$VARIANT" in cpu|gpu) ;; *) echo "VARIANT must be cpu or gpu, not $VARIANT" >&2; exit 1 ;; esac \
 && python3 -m venv /opt/driftgate \
 && source_args=() \
 && if compgen -G "wheelhouse/*.whl" > /dev/null; then source_args=(--no-index --find-links wheelhouse); fi \
 && gpu_args=() \
 && if [ "$VARIANT" = gpu ]; then gpu_args=(-c requirements-gpu.lock "tensorflow[and-cuda]"); fi \
 && /opt/driftgate/bin/pip install "${source_args[@]}" -c requirements.lock . "${gpu_args[@]}" \
 && /opt/driftgate/bin/python -c "import driftgate.pipelines.retrain, tensorflow_model_analysis"

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="driftgate" \
      org.opencontainers.image.description="Drift-gated retraining components for Kubeflow Pipelines" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/driftgate /opt/driftgate
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
