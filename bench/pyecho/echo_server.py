#!/usr/bin/python3
"""The Python reference of the oslohost benchmarks: an oslo.messaging RPC
server with one endpoint, echo(ctxt, value) -> value.

It runs with oslo.messaging's defaults (threading executor, the rabbit
driver's default options), as a Python OpenStack service would, so that
`oslohost bench` measures what such a service costs per call:

    bench/pyecho/echo_server.py --topic b-python &
    bin/oslohost bench --topic b-python --concurrency 8

It prints READY on stdout once the server consumes, and stops cleanly on
SIGTERM or SIGINT.
"""

import argparse
import logging
import signal
import sys
import threading

from oslo_config import cfg
import oslo_messaging


class EchoEndpoint(object):
    def echo(self, ctxt, value=None):
        return value


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="rabbit://guest:guest@127.0.0.1:5672/",
                   help="transport URL")
    p.add_argument("--exchange", default="openstack", help="control exchange")
    p.add_argument("--topic", required=True)
    p.add_argument("--server", default="pyecho", help="server name")
    args = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    conf = cfg.CONF
    conf([], project="oslohost-bench", default_config_files=[],
         default_config_dirs=[])
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)
    transport = oslo_messaging.get_rpc_transport(conf, url=args.url)
    target = oslo_messaging.Target(topic=args.topic, server=args.server)
    server = oslo_messaging.get_rpc_server(
        transport, target, [EchoEndpoint()], executor="threading")

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
