#!/usr/bin/python3
"""A real oslo.messaging RPC server, driven by the Go test harness (pypeer).

It mirrors the endpoints of the capture harness described in
spec/oslo-rabbit-wire.md (appendix A.12/A.13):

* a target-less endpoint (namespace null, version 1.0) with echo, record,
  none_result, fail_*, slow, _private and whoami;
* an endpoint with Target(namespace="ns1", version="1.3") offering vmeth;
* an endpoint with Target(version="7.5") offering v75;
* Rules, with Target(namespace="argrules", version="1.0"): methods whose
  signatures the Go plugin test/interop/testdata/argrules declares the Go
  way, so that both raise the same TypeErrors and send numbers back alike;
* oslo_rpc_server_ping, enabled through [DEFAULT] rpc_ping_enabled.

Protocol on stdout (one line each, flushed):

    READY                      after server.start() returned
    CAST {"kwargs": ..., "ctxt": ..., "server": ...}   for every record() call

Logs go to stderr. The server stops cleanly (server.stop(); server.wait())
on SIGTERM, SIGINT or when stdin reaches EOF, so it cannot outlive the Go
process that holds its stdin pipe.
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging
from oslo_messaging.rpc import dispatcher as rpc_dispatcher

import wire_exc

# stdout carries the protocol; concurrent endpoint threads share it.
_stdout_lock = threading.Lock()


def emit(line):
    """Write one protocol line to stdout and flush it."""
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class DefaultEndpoint(object):
    """Endpoint without a target: namespace null, version 1.0."""

    def __init__(self, server_name):
        self._server = server_name

    def echo(self, ctxt, value=None, **kwargs):
        return {"value": value, "kwargs": kwargs, "ctxt_seen": ctxt,
                "server": self._server}

    def record(self, ctxt, **kwargs):
        # Cast target: report what arrived so the Go side can assert on it.
        emit("CAST " + json.dumps({"kwargs": kwargs, "ctxt": ctxt,
                                   "server": self._server}, default=repr))

    def none_result(self, ctxt):
        return None

    def fail_value(self, ctxt, msg="bad value"):
        raise ValueError(msg)

    def fail_custom(self, ctxt, msg, code=7):
        raise wire_exc.WireError(msg, code=code)

    def fail_plain(self, ctxt):
        raise wire_exc.PlainError("first arg", 2)

    def fail_key(self, ctxt, key="missing"):
        raise KeyError(key)

    @oslo_messaging.expected_exceptions(ValueError)
    def fail_expected(self, ctxt, msg="this one is expected"):
        raise ValueError(msg)

    def slow(self, ctxt, seconds):
        time.sleep(seconds)
        return "slept %s" % seconds

    def _private(self, ctxt):
        # Refused by DefaultRPCAccessPolicy: callers get NoSuchMethod.
        return "private!"

    def whoami(self, ctxt):
        return self._server


class Ns1Endpoint(object):
    target = oslo_messaging.Target(namespace="ns1", version="1.3")

    def vmeth(self, ctxt):
        return "ns1 endpoint, version 1.3"


class V75Endpoint(object):
    target = oslo_messaging.Target(version="7.5")

    def v75(self, ctxt):
        return "7.5"


class Rules(object):
    """The Python side of test/interop/testdata/argrules (same class name,
    so that TypeErrors name the same "Rules.<method>")."""

    target = oslo_messaging.Target(namespace="argrules", version="1.0")

    def add(self, ctxt, increment):
        return increment

    def two(self, ctxt, a, b):
        return [a, b]

    def four(self, ctxt, a, b, c, d):
        return [a, b, c, d]

    def opt(self, ctxt, a, b=2, c=None):
        return [a, b, c]

    def none(self, ctxt):
        return "none"

    def echo_float(self, ctxt, x):
        return float(x)

    def echo_int(self, ctxt, x):
        return int(x)

    def echo_big(self, ctxt, x):
        return int(x)

    def echo_any(self, ctxt, value):
        return value

    def floats(self, ctxt):
        return [1.0, 1, 1e16, 1.5e-07, 0.5, -0.0, 2 ** 70, 0.1 + 0.2]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="transport URL (rabbit://...)")
    p.add_argument("--exchange", default="openstack", help="control exchange")
    p.add_argument("--topic", required=True)
    p.add_argument("--server", required=True, help="server name (Target.server)")
    p.add_argument("--allowed-exmods", default="",
                   help="comma list for the transport's allowed_remote_exmods")
    p.add_argument("--debug", action="store_true", help="log at DEBUG")
    return p.parse_args()


def main():
    args = parse_args()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # The dispatcher reads rpc_ping_enabled from the global cfg.CONF.
    conf = cfg.CONF
    conf([], project="oslohost-pypeer", default_config_files=[],
         default_config_dirs=[])
    conf.register_opts(rpc_dispatcher._dispatcher_opts)
    conf.set_override("rpc_ping_enabled", True)
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)

    exmods = [m for m in args.allowed_exmods.split(",") if m]
    transport = oslo_messaging.get_rpc_transport(
        conf, url=args.url, allowed_remote_exmods=exmods)
    target = oslo_messaging.Target(topic=args.topic, server=args.server)
    endpoints = [DefaultEndpoint(args.server), Ns1Endpoint(), V75Endpoint(), Rules()]
    server = oslo_messaging.get_rpc_server(
        transport, target, endpoints, executor="threading")

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_stdin():
        # The Go side holds our stdin open; EOF means it went away.
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    server.start()
    emit("READY")

    while not stop.wait(0.5):
        pass

    server.stop()
    server.wait()
    transport.cleanup()
    sys.stdout.flush()
    # Daemon threads (stdin watcher) must not keep the interpreter alive.
    os._exit(0)


if __name__ == "__main__":
    main()
