#!/usr/bin/env bash
# A real Kubernetes API server on loopback, for the tests marked `cluster`.
#
#   scripts/cluster.sh build          install etcd and build kube-apiserver from Debian's source
#                                     package, or reuse the cached binary
#   scripts/cluster.sh test [ARGS]    build, start etcd and kube-apiserver on 127.0.0.1, run
#                                     `pytest -m cluster ARGS` with KUBECONFIG set, stop both
#
# kube-apiserver 1.20.2 is built from Debian 12's `kubernetes` source package with Debian's Go
# 1.19, in GOPATH mode (`make WHAT=cmd/kube-apiserver`, about 5 minutes on 2 idle cores), after its
# vendored modern-go/reflect2 1.0.1, which crashes under Go >= 1.18, is replaced with Debian's
# 1.0.2. The binary is cached in CACHE (default ${XDG_CACHE_HOME:-~/.cache}/driftgate); delete it
# to rebuild. etcd is Debian's etcd-server 3.4.
#
# Environment: CACHE, PYTHON (the venv's python), ETCD_PORT, API_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/driftgate}
PYTHON=${PYTHON:-.venv/bin/python}
KUBE_VERSION=1.20.2
APISERVER=$CACHE/kube-apiserver-$KUBE_VERSION/kube-apiserver
GO=/usr/lib/go-1.19/bin
PACKAGES=(golang-1.19 golang-github-modern-go-reflect2-dev rsync jq dpkg-dev etcd-server openssl)

say() { printf '[cluster %s] %s\n' "$(date +%T)" "$*"; }

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

install_packages() {
    local missing=()
    for package in "${PACKAGES[@]}"; do
        dpkg-query -W -f '${Status}' "$package" 2> /dev/null | grep -q 'ok installed' \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return
    say "installing ${missing[*]} from Debian's packages"
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
    # etcd-server's package starts a system etcd on the default ports; ours runs on its own.
    "${as_root[@]}" systemctl disable --now etcd > /dev/null 2>&1 || true
}

deb_src_line() {
    # A deb-src entry for the machine's own Debian mirror and release (never written into the
    # repository), in a private apt state directory so that the system's apt is left as it is.
    local mirror codename keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mirror=$(scripts/debian-mirror.sh)
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    if [ -f "$keyring" ]; then
        echo "deb-src [signed-by=$keyring] $mirror $codename main"
    else
        echo "deb-src $mirror $codename main"
    fi
}

build_apiserver() {
    if [ -x "$APISERVER" ]; then
        say "kube-apiserver $KUBE_VERSION cached at $APISERVER"
        return
    fi
    local started=$SECONDS src apt_dir
    src=$(mktemp -d "${TMPDIR:-/tmp}/driftgate-k8s.XXXXXX")
    apt_dir=$src/apt
    mkdir -p "$apt_dir/lists/partial"
    deb_src_line > "$apt_dir/sources.list"
    local apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list"
        -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt_dir/lists"
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
    say "downloading Debian's kubernetes $KUBE_VERSION source package"
    apt-get "${apt_opts[@]}" update > "$src/apt-update.log"
    (cd "$src" && apt-get "${apt_opts[@]}" source kubernetes > apt-source.log 2>&1) \
        || { cat "$src/apt-source.log" >&2; exit 1; }
    local tree
    tree=$(find "$src" -maxdepth 1 -type d -name "kubernetes-*$KUBE_VERSION" -print -quit)
    [ -n "$tree" ] || { echo "scripts/cluster.sh: Debian's kubernetes source is not $KUBE_VERSION" >&2; exit 1; }
    say "replacing the vendored modern-go/reflect2 1.0.1 with Debian's 1.0.2"
    rm -rf "$tree/vendor/github.com/modern-go/reflect2"
    cp -rL /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/"
    say "building kube-apiserver with Go 1.19 (about 5 minutes on 2 idle cores)"
    (cd "$tree" && PATH=$GO:$PATH KUBE_GIT_VERSION=v$KUBE_VERSION KUBE_GIT_TREE_STATE=clean \
        make WHAT=cmd/kube-apiserver > "$src/build.log" 2>&1) \
        || { tail -40 "$src/build.log" >&2; exit 1; }
    mkdir -p "$(dirname "$APISERVER")"
    cp "$tree/_output/bin/kube-apiserver" "$APISERVER.tmp"
    mv "$APISERVER.tmp" "$APISERVER"
    rm -rf "$src"
    say "built $APISERVER in $((SECONDS - started)) s"
}

build() {
    install_packages
    build_apiserver
}

# Both servers are stopped by their PIDs however the script ends (a failed test exits through
# `set -e`, which skips function-level traps), and their state directory is removed.
ETCD_PID=""
APISERVER_PID=""
RUN_DIR=""
stop() {
    for pid in "$APISERVER_PID" "$ETCD_PID"; do
        [ -n "$pid" ] || continue
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    APISERVER_PID=""
    ETCD_PID=""
    [ -z "$RUN_DIR" ] || rm -rf "$RUN_DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/driftgate-cluster.XXXXXX")
    local etcd_port peer_port api_port token
    etcd_port=${ETCD_PORT:-$(free_port)}
    peer_port=$(free_port)
    api_port=${API_PORT:-$(free_port)}
    say "starting etcd on 127.0.0.1:$etcd_port"
    etcd --name driftgate --data-dir "$RUN_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "driftgate=http://127.0.0.1:$peer_port" \
        > "$RUN_DIR/etcd.log" 2>&1 &
    ETCD_PID=$!
    # A bearer token for an administrator, and the service-account signing keys.
    token=$(openssl rand -hex 24)
    echo "$token,driftgate-admin,driftgate-admin,system:masters" > "$RUN_DIR/tokens.csv"
    openssl genrsa -out "$RUN_DIR/sa.key" 2048 2> /dev/null
    openssl rsa -in "$RUN_DIR/sa.key" -pubout -out "$RUN_DIR/sa.pub" 2> /dev/null
    say "starting kube-apiserver $KUBE_VERSION on 127.0.0.1:$api_port (token auth, RBAC)"
    "$APISERVER" --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --insecure-port 0 --cert-dir "$RUN_DIR/certs" \
        --token-auth-file "$RUN_DIR/tokens.csv" --authorization-mode RBAC \
        --service-account-key-file "$RUN_DIR/sa.pub" \
        --service-account-signing-key-file "$RUN_DIR/sa.key" \
        --service-account-issuer https://kubernetes.default.svc \
        --service-cluster-ip-range 10.96.0.0/24 \
        > "$RUN_DIR/apiserver.log" 2>&1 &
    APISERVER_PID=$!
    export KUBECONFIG=$RUN_DIR/kubeconfig DRIFTGATE_TEST_APISERVER=https://127.0.0.1:$api_port
    local kubectl
    kubectl=$(dirname "$PYTHON")/kubectl
    "$kubectl" config set-cluster driftgate --server "https://127.0.0.1:$api_port" \
        --insecure-skip-tls-verify=true > /dev/null
    "$kubectl" config set-credentials driftgate-admin --token "$token" > /dev/null
    "$kubectl" config set-context driftgate --cluster driftgate --user driftgate-admin > /dev/null
    "$kubectl" config use-context driftgate > /dev/null
    for _ in $(seq 120); do
        "$kubectl" get --raw /readyz > /dev/null 2>&1 && break
        if ! kill -0 "$APISERVER_PID" 2> /dev/null || ! kill -0 "$ETCD_PID" 2> /dev/null; then
            tail -20 "$RUN_DIR/etcd.log" "$RUN_DIR/apiserver.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    "$kubectl" get --raw /readyz > /dev/null || { tail -20 "$RUN_DIR/apiserver.log" >&2; exit 1; }
    say "API server ready: $("$kubectl" version -o json | "$PYTHON" -c \
        'import json, sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
}

run_tests() {
    start
    say "running the tests marked cluster against it"
    "$PYTHON" -m pytest -m cluster -p no:cacheprovider -rfEsp tests/ "$@"
    stop
}

case "${1:-}" in
    build) build ;;
    test) shift; build; run_tests "$@" ;;
    *) echo "usage: scripts/cluster.sh build|test [pytest args]" >&2; exit 2 ;;
esac
