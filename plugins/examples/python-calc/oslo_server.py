#!/usr/bin/python3
"""Serve calc.py's endpoints with plain oslo.messaging, no oslohost.

    /usr/bin/python3 oslo_server.py --url rabbit://guest:guest@127.0.0.1:5672/ \
        --topic calc --server local

The same classes, unchanged, are what plugin.hcl serves under oslohost.
Prints READY once the server listens; stops on SIGTERM or SIGINT.
"""

import argparse
import logging
import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging

import calc


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--topic", default="calc")
    p.add_argument("--server", default="local")
    p.add_argument("--exchange", default="openstack")
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    oslo_messaging.set_transport_defaults(control_exchange=a.exchange)
    transport = oslo_messaging.get_rpc_transport(cfg.CONF, url=a.url)
    target = oslo_messaging.Target(topic=a.topic, server=a.server)
    server = oslo_messaging.get_rpc_server(transport, target, calc.endpoints(),
                                           executor="threading")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print("READY", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    server.wait()
    transport.cleanup()


if __name__ == "__main__":
    main()
