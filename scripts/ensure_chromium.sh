#!/usr/bin/env bash
# The web UI's browser tests drive Debian's chromium through Python playwright
# (executable_path=/usr/bin/chromium, never `playwright install`); they fail (never
# skip) without it, so `make test` installs the package on a fresh machine.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
exec bash "$(dirname "$0")/apt_install.sh" chromium "the web UI's browser tests need it"
