#!/usr/bin/env bash
# Make sure the system programs Diary Room needs are present. Installs them with
# apt-get when we may (root on Debian/Ubuntu); otherwise names what to install.
# Usage: scripts/system-deps.sh COMMAND:PACKAGE ...
set -euo pipefail
missing_pkgs=()
for pair in "$@"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing_pkgs+=("$pkg")
done
[ ${#missing_pkgs[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null
  exit 0
fi
echo "Diary Room needs these system packages: ${missing_pkgs[*]}" >&2
echo "Install them (Debian/Ubuntu: sudo apt-get install ${missing_pkgs[*]}) and run make again." >&2
exit 1
