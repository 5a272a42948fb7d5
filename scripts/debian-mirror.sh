#!/usr/bin/env bash
# Prints this machine's own Debian mirror, read from its apt sources at run time (so that no host
# is ever written into the repository). Used by image.sh (debootstrap) and cluster.sh (deb-src).
awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2> /dev/null \
    || awk '/^deb / { print $2; exit }' /etc/apt/sources.list
