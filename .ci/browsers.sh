#!/usr/bin/env bash
# CI browser: Debian's chromium for the console's browser tests (tests/web/test_web_browser.py),
# driven by Playwright with executable_path=/usr/bin/chromium (Playwright's own browser
# download does not work offline). Installed if missing; safe to run again.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "ci/browsers: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ci/browsers: not root on a Debian machine: chromium is not installed here;" \
       "the browser tests skip with the reason" >&2
  exit 0
fi
echo "ci/browsers: installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
