#!/usr/bin/env bash
# The PostgreSQL tests start their own server from the Debian package's binaries; they
# fail (never skip) without it, so `make test` installs the package on a fresh machine.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Another apt-get (a second checkout's make, an unattended upgrade) may hold the lock: wait.
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends postgresql >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends postgresql >/dev/null
else
    echo "PostgreSQL server binaries are missing: install the Debian package postgresql" >&2
    echo "(apt-get install postgresql); the PostgreSQL tests need them." >&2
fi
