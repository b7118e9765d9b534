#!/usr/bin/python3
"""A real oslo.messaging RPC client, driven by the Go test harness (pypeer).

Reads JSON commands from stdin, one per line, and answers each with one JSON
line on stdout (flushed). Every command runs on its own thread, so a slow
call never delays the others; answers may therefore come out of order and
carry the command's "id". The first line written is READY. Logs go to
stderr. The process exits when stdin reaches EOF.

Command fields (all optional except "id" and "op"):

    op                   call | cast | concurrent_calls | ping | can_send_version
                         | notify
    topic, server, namespace, version, exchange, fanout
                         Target fields, passed to prepare()
    timeout, call_monitor_timeout, retry, version_cap
                         prepare() arguments
    transport_options    {"at_least_once": true}
    method, args, ctxt   the RPC method, its kwargs and the request context
    n                    concurrent_calls: number of parallel calls
    check_isinstance     names ("ValueError", "oslo_messaging.RemoteError")
                         to test the raised exception against
    notify:              publisher_id, topics (list), priority (audit ...
                         sample, any case), event_type, payload, ctxt,
                         driver (messagingv2 default, messaging, noop),
                         retry; sent with a Notifier on a notification
                         transport (same URL and control exchange)

Result fields:

    id, ok, result, elapsed
    on failure: exc_class, exc_module, mro, msg, exc_type, exc_value,
                exc_args, exc_kwargs, isinstance
    concurrent_calls: results (a list of results without ids)
    driver_error: the command itself was malformed (not an RPC outcome)
"""

import argparse
import builtins
import importlib
import json
import logging
import os
import sys
import threading
import time

from oslo_config import cfg
import oslo_messaging

_stdout_lock = threading.Lock()


def emit(obj):
    """Write one JSON line to stdout and flush it."""
    try:
        line = json.dumps(obj, allow_nan=False, default=repr)
    except ValueError:
        # NaN/Infinity are not JSON; the Go side would choke on them.
        obj = dict(obj, result=None, result_repr=repr(obj.get("result")))
        line = json.dumps(obj, default=repr)
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def resolve_class(name):
    """Map "ValueError" or "pkg.mod.Class" to a class (None if unknown)."""
    if "." not in name:
        return getattr(builtins, name, None)
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


def str_or_none(value):
    return None if value is None else str(value)


def describe_exception(exc, check_isinstance):
    """The failure half of a result: everything a test asserts on."""
    kwargs = getattr(exc, "kwargs", None)  # oslo/nova style exceptions
    out = {
        "ok": False,
        "result": None,
        "exc_class": exc.__class__.__name__,
        "exc_module": exc.__class__.__module__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "msg": str(exc),
        # RemoteError attributes: the remote class name and message.
        "exc_type": str_or_none(getattr(exc, "exc_type", None)),
        "exc_value": str_or_none(getattr(exc, "value", None)),
        "exc_args": list(exc.args),
        "exc_kwargs": kwargs if isinstance(kwargs, dict) else None,
    }
    if check_isinstance:
        checks = {}
        for name in check_isinstance:
            cls = resolve_class(name)
            checks[name] = bool(cls is not None and isinstance(exc, cls))
        out["isinstance"] = checks
    return out


class Driver(object):
    """Turns commands into RPCClient calls on one shared transport."""

    # Command keys copied verbatim into prepare().
    PREPARE_KEYS = ("exchange", "server", "namespace", "version", "fanout",
                    "timeout", "call_monitor_timeout", "retry", "version_cap")

    def __init__(self, transport, conf, url):
        self.transport = transport
        self._conf = conf
        self._url = url
        self._notify_transport = None
        self._notify_lock = threading.Lock()

    def notify_transport(self):
        with self._notify_lock:
            if self._notify_transport is None:
                self._notify_transport = (
                    oslo_messaging.get_notification_transport(
                        self._conf, url=self._url))
            return self._notify_transport

    def notify(self, cmd):
        """Send one notification the way a Python service does."""
        priority = (cmd.get("priority") or "info").lower()
        if priority not in ("audit", "debug", "info", "warn", "error",
                            "critical", "sample"):
            raise DriverError("unknown priority %r" % priority)
        if not cmd.get("event_type"):
            raise DriverError("event_type is required")
        kwargs = {"driver": cmd.get("driver") or "messagingv2"}
        if cmd.get("topics"):
            kwargs["topics"] = cmd["topics"]
        if cmd.get("retry") is not None:
            kwargs["retry"] = cmd["retry"]
        start = time.monotonic()
        notifier = oslo_messaging.Notifier(
            self.notify_transport(), publisher_id=cmd.get("publisher_id"),
            **kwargs)
        getattr(notifier, priority)(cmd.get("ctxt") or {}, cmd["event_type"],
                                    cmd.get("payload"))
        # Python logs and drops what it cannot send: ok means "returned".
        return {"ok": True, "result": None,
                "elapsed": round(time.monotonic() - start, 3)}

    def client(self, cmd):
        topic = cmd.get("topic")
        if not topic:
            raise DriverError("topic is required")
        base = oslo_messaging.get_rpc_client(
            self.transport, oslo_messaging.Target(topic=topic))
        kwargs = {k: cmd[k] for k in self.PREPARE_KEYS
                  if cmd.get(k) not in (None, "")}
        topts = cmd.get("transport_options")
        if topts:
            kwargs["transport_options"] = oslo_messaging.TransportOptions(
                at_least_once=bool(topts.get("at_least_once")))
        return base.prepare(**kwargs)

    def one(self, cmd, op):
        """Run a single call/cast/ping; return the result dict (no id)."""
        start = time.monotonic()
        try:
            cctxt = self.client(cmd)
            ctxt = cmd.get("ctxt") or {}
            args = cmd.get("args") or {}
            if op == "call":
                result = cctxt.call(ctxt, self.method(cmd), **args)
            elif op == "cast":
                result = cctxt.cast(ctxt, self.method(cmd), **args)
            elif op == "ping":
                result = cctxt.call(ctxt, "oslo_rpc_server_ping", **args)
            elif op == "can_send_version":
                # Tests the prepared "version" against "version_cap".
                result = cctxt.can_send_version()
            else:
                raise DriverError("unknown op %r" % op)
            out = {"ok": True, "result": result}
        except DriverError:
            raise
        except Exception as exc:  # every RPC outcome is data for the test
            out = describe_exception(exc, cmd.get("check_isinstance"))
        out["elapsed"] = round(time.monotonic() - start, 3)
        return out

    @staticmethod
    def method(cmd):
        if not cmd.get("method"):
            raise DriverError("method is required")
        return cmd["method"]

    def concurrent(self, cmd):
        """Run n identical calls in parallel threads; collect all results."""
        n = int(cmd.get("n") or 0)
        if n <= 0:
            raise DriverError("n must be positive")
        start = time.monotonic()
        results = [None] * n

        def run(i):
            try:
                results[i] = self.one(cmd, "call")
            except DriverError as exc:
                results[i] = {"ok": False, "driver_error": str(exc)}

        threads = [threading.Thread(target=run, args=(i,), daemon=True)
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {"ok": all(r.get("ok") for r in results), "result": None,
                "results": results,
                "elapsed": round(time.monotonic() - start, 3)}

    def handle(self, line):
        """Parse one command line, run it, and emit its result."""
        cmd_id = None
        try:
            cmd = json.loads(line)
            cmd_id = cmd.get("id")
            op = cmd.get("op")
            if op == "concurrent_calls":
                out = self.concurrent(cmd)
            elif op == "notify":
                out = self.notify(cmd)
            else:
                out = self.one(cmd, op)
        except Exception as exc:  # malformed command or harness bug
            logging.exception("command failed: %s", line)
            out = {"ok": False, "driver_error": "%s: %s" % (
                exc.__class__.__name__, exc)}
        out["id"] = cmd_id
        emit(out)


class DriverError(Exception):
    """A malformed command; reported as driver_error, not as an RPC result."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="transport URL (rabbit://...)")
    p.add_argument("--exchange", default="openstack", help="control exchange")
    p.add_argument("--allowed-exmods", default="",
                   help="comma list for get_rpc_transport(allowed_remote_exmods)")
    p.add_argument("--debug", action="store_true", help="log at DEBUG")
    return p.parse_args()


def main():
    args = parse_args()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # The global cfg.CONF: oslo.messaging registers some options (metrics)
    # only there, and RPCClient reads them from the transport's conf.
    conf = cfg.CONF
    conf([], project="oslohost-pypeer", default_config_files=[],
         default_config_dirs=[])
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)
    exmods = [m for m in args.allowed_exmods.split(",") if m]
    transport = oslo_messaging.get_rpc_transport(
        conf, url=args.url, allowed_remote_exmods=exmods)
    driver = Driver(transport, conf, args.url)

    with _stdout_lock:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        threading.Thread(target=driver.handle, args=(line,),
                         daemon=True).start()

    # stdin closed: the Go side is done (or gone). In-flight calls are
    # abandoned; their threads are daemons.
    transport.cleanup()
    if driver._notify_transport is not None:
        driver._notify_transport.cleanup()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
