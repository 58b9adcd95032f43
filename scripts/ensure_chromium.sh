#!/usr/bin/env bash
# The web UI's browser tests drive Debian's chromium through Python playwright
# (executable_path=/usr/bin/chromium, never `playwright install`); they fail (never
# skip) without it, so `make test` installs the package on a fresh machine.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
else
    echo "The chromium browser is missing: install the Debian package chromium" >&2
    echo "(apt-get install chromium); the web UI's browser tests need it." >&2
fi
