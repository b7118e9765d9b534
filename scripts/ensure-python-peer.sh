#!/usr/bin/env bash
# ensure-python-peer.sh: make sure /usr/bin/python3 can import
# oslo_messaging (the real Python peer of the interop tests, package
# python3-oslo.messaging, 14.0.3 on Debian 12).
#
#   importable          -> exit 0, silently
#   root with apt-get   -> apt-get update && install python3-oslo.messaging
#   otherwise           -> say what to do, exit 1
#
# It checks /usr/bin/python3 on purpose: the python3 first on PATH may be
# another interpreter without the Debian packages.
set -euo pipefail

PYTHON=/usr/bin/python3
PACKAGE=python3-oslo.messaging

say() { echo "ensure-python-peer: $*" >&2; }

importable() {
	[[ -x "$PYTHON" ]] && "$PYTHON" -c 'import oslo_messaging' >/dev/null 2>&1
}

if importable; then
	exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
	say "installing ${PACKAGE} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "$PACKAGE" >/dev/null
	if importable; then
		exit 0
	fi
	say "${PACKAGE} installed but ${PYTHON} still cannot import oslo_messaging:"
	"$PYTHON" -c 'import oslo_messaging' || true
	exit 1
fi

cat >&2 <<MSG
ensure-python-peer: ${PYTHON} cannot import oslo_messaging.
Install it as root, e.g. on Debian/Ubuntu:
  apt-get update && apt-get install -y ${PACKAGE}
(the interop tests need oslo.messaging 14.0.3 under ${PYTHON}).
MSG
exit 1
