#!/usr/bin/env bash
# One-time machine setup for the local sandbox, tests and bench: installs the
# MariaDB server, client tools and mydumper from Debian's packages when absent.
# It never starts or configures the system MariaDB service; the sandbox runs
# its own throw-away servers.
set -euo pipefail
missing=()
for tool in mariadbd:mariadb-server mariadb:mariadb-client mariadb-dump:mariadb-client mydumper:mydumper mariadb-backup:mariadb-backup; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin" command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: MariaDB server, client, mariadb-backup and mydumper are present"
  exit 0
fi
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: $packages; run: sudo apt-get update && sudo apt-get install -y $packages" >&2
  exit 1
fi
echo "setup: installing $packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the package from starting a system mariadb service we do not use.
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; trap 'rm -f /usr/sbin/policy-rc.d' EXIT; fi
apt-get install -y -qq $packages >/dev/null
