#!/usr/bin/env bash
# The PostgreSQL tests start their own server from the Debian package's binaries; they
# fail (never skip) without it, so `make test` installs the package on a fresh machine.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
exec bash "$(dirname "$0")/apt_install.sh" postgresql "the PostgreSQL tests need it"
