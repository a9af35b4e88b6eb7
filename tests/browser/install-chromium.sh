#!/bin/sh
# The browser tests drive Debian's Chromium (playwright's own browser download cannot run here) and need
# a CJK font to render the Chinese pages. Installs both from Debian's packages when they are missing.
set -e
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null 2>&1 || {
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null
}
