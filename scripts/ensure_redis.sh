#!/usr/bin/env bash
# The limit tests start their own Redis server from the Debian package's binary; they
# fail (never skip) without it, so `make test` installs the package on a fresh machine.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    exit 0
fi
exec bash "$(dirname "$0")/apt_install.sh" redis-server "the limit tests need it"
