#!/usr/bin/env bash
# apt_install.sh PACKAGE WHY: install a Debian package the tests need, without stdin.
# Another apt-get (a second checkout's make, an unattended upgrade) may hold apt's lock:
# wait for it rather than fail.
set -euo pipefail
package=$1 why=$2
apt=(apt-get -o DPkg::Lock::Timeout=900)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    "${apt[@]}" update -qq
    "${apt[@]}" install -y -qq --no-install-recommends "$package" </dev/null >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends \
        "$package" </dev/null >/dev/null
else
    echo "The Debian package $package is missing (apt-get install $package); $why." >&2
fi
