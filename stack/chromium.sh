#!/usr/bin/env bash
# Headless Chromium and its WebDriver, from Debian's packages, for the catalog page's browser test
# and `make bench-catalog`. Installs them when missing and we may (root); otherwise says what to
# install.
set -euo pipefail

PACKAGES=(chromium chromium-driver)

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Chromium is missing: install the Debian packages ${PACKAGES[*]} (e.g. sudo apt-get install ${PACKAGES[*]})"
  exit 1
fi
echo "installing ${PACKAGES[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
