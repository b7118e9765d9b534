#!/usr/bin/python3
"""Serve endpoints from a factory with oslo_messaging.get_rpc_server.

    oslo_endpoint_server.py --url URL --topic T --server S \
        --factory module:endpoints [--config JSON] [--access-policy explicit]

The factory is called with the config (a dict) and returns the endpoints,
as the oslohost Python SDK calls it. Prints READY once started; stops on
SIGTERM or when stdin reaches EOF.
"""

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging
from oslo_messaging.rpc import dispatcher as rpc_dispatcher

POLICIES = {
    "default": rpc_dispatcher.DefaultRPCAccessPolicy,
    "explicit": rpc_dispatcher.ExplicitRPCAccessPolicy,
    "legacy": rpc_dispatcher.LegacyRPCAccessPolicy,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--exchange", default="openstack")
    p.add_argument("--topic", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--factory", required=True)
    p.add_argument("--config", default="{}")
    p.add_argument("--access-policy", default=None)
    p.add_argument("--serializer", default=None,
                   help="module:attr, a Serializer class or factory")
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    cfg.CONF([], project="oslohost-pyplugin", default_config_files=[],
             default_config_dirs=[])
    oslo_messaging.set_transport_defaults(control_exchange=a.exchange)
    mod, _, attr = a.factory.partition(":")
    factory = getattr(importlib.import_module(mod), attr)
    serializer = None
    if a.serializer:
        smod, _, sattr = a.serializer.partition(":")
        serializer = getattr(importlib.import_module(smod), sattr)()
    transport = oslo_messaging.get_rpc_transport(cfg.CONF, url=a.url)
    target = oslo_messaging.Target(topic=a.topic, server=a.server)
    server = oslo_messaging.get_rpc_server(
        transport, target, factory(json.loads(a.config)),
        executor="threading", serializer=serializer,
        access_policy=POLICIES.get(a.access_policy))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.start()
    print("READY", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    server.wait()
    transport.cleanup()
    os._exit(0)


if __name__ == "__main__":
    main()
