#!/usr/bin/env bash
# ensure-python-peer.sh: make sure /usr/bin/python3 can import the real
# Python peers of the tests, all from Debian's packages:
#
#   oslo_messaging          python3-oslo.messaging (14.0.3 on Debian 12)
#   nova                    python3-nova (Zed): nova's own RPC client code
#   oslo_versionedobjects   python3-oslo.versionedobjects
#   osprofiler              python3-osprofiler
#   grpc, google.protobuf   python3-grpcio, python3-protobuf (Python plugins)
#   grpc_tools              python3-grpc-tools (regenerates the Python stubs)
#   cryptography            python3-cryptography (the Python SDK's AutoMTLS)
#
#   all importable      -> exit 0, silently
#   root with apt-get   -> apt-get update && install the missing packages
#   otherwise           -> say what to do, exit 1
#
# It checks /usr/bin/python3 on purpose: the python3 first on PATH may be
# another interpreter without the Debian packages.
set -euo pipefail
# shellcheck source=apt-progress.sh
source "$(dirname "$0")/apt-progress.sh"

PYTHON=/usr/bin/python3
# module:package pairs, in the order they are checked.
PEERS=(
	oslo_messaging:python3-oslo.messaging
	nova.compute.rpcapi:python3-nova
	oslo_versionedobjects:python3-oslo.versionedobjects
	osprofiler:python3-osprofiler
	grpc:python3-grpcio
	google.protobuf:python3-protobuf
	grpc_tools.protoc:python3-grpc-tools
	cryptography:python3-cryptography
)

say() { echo "ensure-python-peer: $*" >&2; }

# missing prints the package of each module /usr/bin/python3 cannot import.
missing() {
	local pair
	for pair in "${PEERS[@]}"; do
		if [[ ! -x "$PYTHON" ]] || ! "$PYTHON" -c "import ${pair%%:*}" >/dev/null 2>&1; then
			echo "${pair#*:}"
		fi
	done
}

todo=$(missing)
if [[ -z "$todo" ]]; then
	exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
	# shellcheck disable=SC2086 # one package a word
	say "installing with apt-get (a few minutes on a fresh machine):" $todo
	export DEBIAN_FRONTEND=noninteractive
	apt_progress "$(basename "$0" .sh)" apt-get update
	# shellcheck disable=SC2086
	apt_progress ensure-python-peer apt-get install -y $todo
	still=$(missing)
	if [[ -z "$still" ]]; then
		exit 0
	fi
	# shellcheck disable=SC2086
	say "installed, but ${PYTHON} still cannot import what these packages give:" $still
	exit 1
fi

cat >&2 <<MSG
ensure-python-peer: ${PYTHON} cannot import what these packages give: $(echo $todo)
Install them as root, e.g. on Debian/Ubuntu:
  apt-get update && apt-get install -y $(echo $todo)
(the interop tests need oslo.messaging 14.0.3 and its OpenStack neighbours under ${PYTHON}).
MSG
exit 1
