#!/usr/bin/env bash
# ensure-broker.sh: make sure a RabbitMQ broker answers on 127.0.0.1:5672,
# the broker the interop tests use (guest/guest, vhost /).
#
#   already listening        -> exit 0, silently
#   rabbitmq-server present  -> start it detached, wait up to 60 s
#   root with apt-get        -> install rabbitmq-server, then start it
#   otherwise                -> say what to do, exit 1
#
# Idempotent: running it again with the broker up does nothing.
set -euo pipefail
# shellcheck source=apt-progress.sh
source "$(dirname "$0")/apt-progress.sh"

HOST=127.0.0.1
PORT=5672
WAIT_SECONDS=60

say() { echo "ensure-broker: $*" >&2; }

# probe succeeds when something accepts TCP connections on HOST:PORT.
probe() {
	timeout 2 bash -c "exec 3<>/dev/tcp/${HOST}/${PORT}" 2>/dev/null
}

wait_for_broker() {
	local i
	for ((i = 0; i < WAIT_SECONDS; i++)); do
		if probe; then
			return 0
		fi
		sleep 1
	done
	return 1
}

start_broker() {
	say "starting rabbitmq-server"
	# The Debian wrapper switches to the rabbitmq user when run as root.
	rabbitmq-server -detached || true
	if wait_for_broker; then
		say "broker is up on ${HOST}:${PORT}"
		return 0
	fi
	say "rabbitmq-server did not listen on ${HOST}:${PORT} within ${WAIT_SECONDS}s"
	say "see /var/log/rabbitmq/ (startup_log, startup_err, rabbit@*.log)"
	exit 1
}

if probe; then
	exit 0
fi

if command -v rabbitmq-server >/dev/null 2>&1; then
	start_broker
	exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
	say "installing rabbitmq-server with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt_progress "$(basename "$0" .sh)" apt-get update
	apt_progress ensure-broker apt-get install -y rabbitmq-server
	# The package may have started the service already.
	if probe; then
		exit 0
	fi
	start_broker
	exit 0
fi

cat >&2 <<MSG
ensure-broker: no RabbitMQ broker on ${HOST}:${PORT} and cannot install one.
Do one of:
  * as root on Debian/Ubuntu: apt-get install rabbitmq-server && rabbitmq-server -detached
  * with Docker: docker run -d --name oslohost-rabbit -p 5672:5672 rabbitmq:3
Interop tests expect guest/guest on vhost / at ${HOST}:${PORT}
(or set OSLOHOST_TEST_RABBIT_URL to another oslo transport URL).
MSG
exit 1
