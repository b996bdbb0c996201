#!/bin/sh
# Install what the frontend client tests need, from nothing; running it again changes nothing.
#   - Debian's Chromium at /usr/bin/chromium (Playwright drives it; it never downloads a browser)
#   - the app's npm packages, exactly as package-lock.json pins them
set -eu

cd "$(dirname "$0")/../client_tests/frontend"

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-frontend: /usr/bin/chromium is missing; install Debian's chromium as root" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "setup-frontend: $tool is missing; install Node.js 20.19+ with npm 11" >&2
        exit 1
    fi
done

# npm ci starts from an empty node_modules, so skip it when this lock file is what was installed.
stamp=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$stamp"; then
    npm ci --no-audit --no-fund
    cp package-lock.json "$stamp"
fi
