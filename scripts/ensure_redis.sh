#!/usr/bin/env bash
# The limit tests start their own Redis server from the Debian package's binary; they
# fail (never skip) without it, so `make test` installs the package on a fresh machine.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Another apt-get (a second checkout's make, an unattended upgrade) may hold the lock: wait.
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -qq
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends redis-server >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends redis-server >/dev/null
else
    echo "The Redis server binary is missing: install the Debian package redis-server" >&2
    echo "(apt-get install redis-server); the limit tests need it." >&2
fi
