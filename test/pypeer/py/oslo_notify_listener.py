#!/usr/bin/python3
"""A real oslo.messaging notification listener, driven by the Go test harness.

get_notification_listener() with one endpoint implementing every priority
(audit, debug, info, warn, error, critical, sample). Protocol on stdout (one
line each, flushed):

    READY                 after listener.start() returned (queues declared)
    NOTIFY {"priority": ..., "ctxt": ..., "publisher_id": ..., "event_type": ...,
            "payload": ..., "metadata": ..., "result": "handled"|"requeue"}
                          for every endpoint call

Options: --topics (comma list), --pool, --exchange (control exchange),
--target-exchange (Target.exchange), --allow-requeue, --requeue-first (the
endpoint returns REQUEUE the first time it sees a message_id).

Logs go to stderr. The listener stops cleanly on SIGTERM, SIGINT or when
stdin reaches EOF.
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging

_stdout_lock = threading.Lock()


def emit(line):
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Endpoint(object):
    """Has a method for every priority; records what each call received."""

    def __init__(self, requeue_first):
        self._requeue_first = requeue_first
        self._seen = set()
        self._lock = threading.Lock()

    def _record(self, priority, ctxt, publisher_id, event_type, payload,
                metadata):
        result = oslo_messaging.NotificationResult.HANDLED
        if self._requeue_first:
            with self._lock:
                first = metadata.get("message_id") not in self._seen
                self._seen.add(metadata.get("message_id"))
            if first:
                result = oslo_messaging.NotificationResult.REQUEUE
        emit("NOTIFY " + json.dumps({
            "priority": priority, "ctxt": ctxt, "publisher_id": publisher_id,
            "event_type": event_type, "payload": payload,
            "metadata": metadata, "result": result}, default=repr))
        return result


def _make(priority):
    def method(self, ctxt, publisher_id, event_type, payload, metadata):
        return self._record(priority, ctxt, publisher_id, event_type,
                            payload, metadata)
    method.__name__ = priority
    return method


for _p in ("audit", "debug", "info", "warn", "error", "critical", "sample"):
    setattr(Endpoint, _p, _make(_p))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="transport URL (rabbit://...)")
    p.add_argument("--exchange", default="openstack", help="control exchange")
    p.add_argument("--target-exchange", default="", help="Target.exchange")
    p.add_argument("--topics", default="notifications", help="comma list")
    p.add_argument("--pool", default="")
    p.add_argument("--allow-requeue", action="store_true")
    p.add_argument("--requeue-first", action="store_true")
    p.add_argument("--debug", action="store_true", help="log at DEBUG")
    return p.parse_args()


def main():
    args = parse_args()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    conf = cfg.CONF
    conf([], project="oslohost-pypeer", default_config_files=[],
         default_config_dirs=[])
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    targets = [oslo_messaging.Target(topic=t,
                                     exchange=args.target_exchange or None)
               for t in args.topics.split(",") if t]
    listener = oslo_messaging.get_notification_listener(
        transport, targets, [Endpoint(args.requeue_first)],
        executor="threading", allow_requeue=args.allow_requeue,
        pool=args.pool or None)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    listener.start()
    emit("READY")

    while not stop.wait(0.5):
        pass

    listener.stop()
    listener.wait()
    transport.cleanup()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
