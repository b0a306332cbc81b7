#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver, which tests/test_browser.py drives with Selenium.
# Does nothing (and returns at once) when both are already there; safe to run again.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    exit 0
fi

# Wait for another apt/dpkg run to finish instead of failing on its lock.
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=120)

cannot_install() {
    echo "install_browser.sh: $CHROMIUM or $CHROMEDRIVER is missing, and $1." >&2
    echo "The browser test (tests/test_browser.py) needs them. Install them with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    echo "(as root, leave out sudo), then run this again." >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: $CHROMIUM or $CHROMEDRIVER is missing and this system has no apt-get;" >&2
    echo "install Chromium and its matching chromedriver so that both paths exist." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    # Ask for a password only when someone can type it; under CI or a pipe, sudo must not hang.
    if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
else
    cannot_install "installing them needs root (this user is not root and there is no sudo)"
fi

echo "Installing ${PACKAGES[*]} with apt-get (for the browser test)..."
"${SUDO[@]}" "${APT[@]}" update || cannot_install "apt-get update failed"
"${SUDO[@]}" "${APT[@]}" install -y --no-install-recommends "${PACKAGES[@]}" >/dev/null \
    || cannot_install "apt-get install failed"

if [ ! -x "$CHROMIUM" ] || [ ! -x "$CHROMEDRIVER" ]; then
    cannot_install "they are still missing after apt-get install"
fi
echo "Installed: $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
echo "           $("$CHROMEDRIVER" --version 2>/dev/null | cut -d' ' -f1-2)"
