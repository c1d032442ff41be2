#!/usr/bin/env bash
# Makes sure the servers the test suite starts are installed: redis-server and prometheus (Debian packages).
# Installs them with apt-get when it can (root, or passwordless sudo); otherwise says exactly what to run.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
((${#missing[@]} == 0)) && exit 0

echo "tests need: ${missing[*]} (Debian packages)" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get here: install ${missing[*]} with your package manager, then run npm test again" >&2
  exit 1
fi
if [[ $(id -u) -eq 0 ]]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
  echo "run: sudo apt-get install -y ${missing[*]}   then npm test again" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
