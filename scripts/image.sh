#!/usr/bin/env bash
# Builds driftgate's component images (the full one and the gate one) and runs the pipeline in them.
#
#   scripts/image.sh build   build both images: podman (offline, from a wheelhouse, on a
#                            debootstrap base) when podman is installed, docker (online) otherwise;
#                            their sizes go to RECORD
#   scripts/image.sh test    build, check examples/custom-image on the full image, then run the
#                            demo's three paths with every step in a container: the closed-gate
#                            path in the gate image alone, the others in both
#
# Environment: IMAGE (full image tag, default localhost/driftgate:0.1.0), GATE_IMAGE (default
# IMAGE with -gate appended), VARIANT (cpu or gpu), BASE (the podman base image), PYTHON (the
# venv's python, for downloading wheels and running tests), RECORD (default bench/images.json).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/driftgate:0.1.0}
GATE_IMAGE=${GATE_IMAGE:-$IMAGE-gate}
RECORD=${RECORD:-bench/images.json}
VARIANT=${VARIANT:-cpu}
BASE=${BASE:-localhost/driftgate-base:bookworm-slim}
PYTHON=${PYTHON:-.venv/bin/python}
WORK=$PWD/.image
mkdir -p "$WORK"

say() { printf '[image %s] %s\n' "$(date +%T)" "$*"; }

# The socket service this script starts is stopped by its PID however the script ends (a failed
# test exits through `set -e`, which skips function-level traps).
SERVICE_PID=""
stop_service() {
    if [ -n "$SERVICE_PID" ]; then
        kill "$SERVICE_PID" 2> /dev/null || true
        wait "$SERVICE_PID" 2> /dev/null || true
        SERVICE_PID=""
    fi
}
trap stop_service EXIT

if command -v podman > /dev/null; then
    ENGINE=podman
    export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/.ci/containers.conf}
elif command -v docker > /dev/null && docker info > /dev/null 2>&1; then
    ENGINE=docker
else
    echo "scripts/image.sh: neither podman nor a running docker engine was found; install podman" >&2
    exit 1
fi

base() {
    if podman image exists "$BASE"; then
        say "base image $BASE exists"
        return
    fi
    say "creating base image $BASE with debootstrap (about a minute)"
    local rootfs
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "$(scripts/debian-mirror.sh)" > "$WORK/debootstrap.log"
    # What no step needs, as Debian's slim images leave out: apt's lists and caches, manuals,
    # locales, and documentation other than the copyright files.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/man/* \
        "$rootfs"/usr/share/locale/*
    find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
    tar -C "$rootfs" -c . | podman import - "$BASE" > /dev/null
    rm -rf "$rootfs"
}

wheelhouse() {
    local locks=(-r requirements.lock)
    [ "$VARIANT" = gpu ] && locks+=(-r requirements-gpu.lock)
    say "downloading the locked wheels into wheelhouse/ (${locks[*]})"
    # Wheels where they exist; three locked packages (google-apitools, kfp-server-api,
    # rouge-score) ship only source, which the offline build compiles with the locked setuptools.
    "$PYTHON" -m pip download --quiet --no-deps --prefer-binary --dest wheelhouse "${locks[@]}"
}

size() { $ENGINE image inspect "$1" --format '{{.Size}}'; }

# The image IDs that these tags name now (none for a tag not built yet).
image_ids() {
    local tag
    for tag in "$@"; do $ENGINE image inspect "$tag" --format '{{.Id}}' 2> /dev/null || true; done
}

# Removes the images a rebuild took the tags from, so that rebuilds do not fill the disk with
# untagged images; an image still tagged, or used by a container, stays.
remove_replaced() {
    local id
    for id in "$@"; do
        if [ -z "$($ENGINE image inspect "$id" --format '{{join .RepoTags ""}}' 2> /dev/null)" ]; then
            $ENGINE rmi "$id" > /dev/null 2>&1 && say "removed the replaced image ${id:0:12}" || true
        fi
    done
}

build() {
    local started=$SECONDS args=(--build-arg VARIANT="$VARIANT")
    if [ "$ENGINE" = podman ]; then
        base
        wheelhouse
        args+=(--network none --build-arg BASE_IMAGE="$BASE")
    fi
    local previous
    previous=$(image_ids "$IMAGE" "$GATE_IMAGE")
    say "building $GATE_IMAGE (the gate target) with $ENGINE"
    $ENGINE build "${args[@]}" --target gate --tag "$GATE_IMAGE" . > "$WORK/build-gate.log"
    say "building $IMAGE ($VARIANT) with $ENGINE"
    $ENGINE build "${args[@]}" --tag "$IMAGE" . > "$WORK/build.log"
    # shellcheck disable=SC2086 # one ID per word
    remove_replaced $previous
    local full gate
    full=$(size "$IMAGE")
    gate=$(size "$GATE_IMAGE")
    say "built both in $((SECONDS - started)) s: $IMAGE $(awk "BEGIN { printf \"%.2f GB\", $full / 1e9 }")," \
        "$GATE_IMAGE $(awk "BEGIN { printf \"%.2f GB\", $gate / 1e9 }")"
    "$PYTHON" - "$RECORD" "$full" "$gate" "$($ENGINE --version)" <<'PY'
import json, platform, sys
from pathlib import Path

path, full, gate, engine = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
record = {
    "engine": engine,
    "machine": f"{platform.system()} {platform.machine()}",
    "full_bytes": full,
    "gate_bytes": gate,
    "gate_share_of_full": round(gate / full, 3),
}
Path(path).write_text(json.dumps(record, indent=2) + "\n")
PY
}

custom_image() {
    # examples/custom-image on top of the full image, and the contract it documents.
    local tag=$IMAGE-team-example args=() previous
    previous=$(image_ids "$IMAGE-team-example")
    [ "$ENGINE" = podman ] && args+=(--network none)
    say "building examples/custom-image on $IMAGE and checking its contract"
    $ENGINE build "${args[@]}" --build-arg DRIFTGATE_IMAGE="$IMAGE" --tag "$tag" \
        examples/custom-image > "$WORK/build-custom.log"
    # shellcheck disable=SC2086 # one ID per word
    remove_replaced $previous
    $ENGINE run --rm --network none --user 10001:10001 --read-only --tmpfs /tmp "$tag" python3 -c \
        "import kfp.dsl.executor_main, driftgate.components.train.component, my_models"
}

run_tests() {
    local socket=$WORK/engine.sock
    if [ "$ENGINE" = podman ]; then
        rm -f "$socket"
        podman system service --time=0 "unix://$socket" > "$WORK/service.log" 2>&1 &
        SERVICE_PID=$!
        for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
        export DOCKER_HOST=unix://$socket
    fi
    say "running the pipeline inside $GATE_IMAGE and $IMAGE"
    DRIFTGATE_IMAGE=$IMAGE DRIFTGATE_GATE_IMAGE=$GATE_IMAGE DRIFTGATE_IMAGE_RECORD=$RECORD \
        "$PYTHON" -m pytest -m image -p no:cacheprovider -rP tests/test_image.py
    stop_service
}

case "${1:-}" in
    build) build ;;
    test) build; custom_image; run_tests ;;
    *) echo "usage: scripts/image.sh build|test" >&2; exit 2 ;;
esac
