"""python3 -m oslohost_plugin: serve oslo endpoints named on the command line.

    python3 -m oslohost_plugin --endpoint calc:CalcEndpoint \
        [--endpoint mod:Other ...] [--notification-endpoint mod:Audit ...] \
        [--batch-notification-endpoint mod:Batch ...] \
        [--serializer mod:Serializer] [--access-policy default|explicit|legacy|mod:Policy] \
        [--workers 64] [--plugin-version STR]

Started by oslohost (see sdk/python/README.md); started by hand it says so
and exits 1.
"""

import argparse

from . import serve


def main():
    p = argparse.ArgumentParser(
        prog="python3 -m oslohost_plugin",
        description="Serve oslo.messaging endpoints as an oslohost plugin.")
    p.add_argument("--endpoint", action="append", default=[],
                   metavar="MODULE:ATTR",
                   help="an endpoint class (made with no arguments), a "
                        "factory (called with the config block) or an "
                        "object; repeat for several, in dispatch order")
    p.add_argument("--notification-endpoint", action="append", default=[],
                   metavar="MODULE:ATTR",
                   help="a notification endpoint (info/error/... methods)")
    p.add_argument("--batch-notification-endpoint", action="append",
                   default=[], metavar="MODULE:ATTR",
                   help="a notification endpoint taking batches (as for "
                        "get_batch_notification_listener)")
    p.add_argument("--serializer", metavar="MODULE:ATTR",
                   help="an oslo_messaging Serializer, e.g. "
                        "oslo_versionedobjects.base:VersionedObjectSerializer")
    p.add_argument("--access-policy", metavar="POLICY",
                   help="default, explicit, legacy or MODULE:CLASS")
    p.add_argument("--workers", type=int, default=64,
                   help="calls run at once (default 64, as oslo's "
                        "executor_thread_pool_size)")
    p.add_argument("--plugin-version", default="",
                   help="version shown in the host's status")
    a = p.parse_args()
    serve(a.endpoint, a.notification_endpoint, a.serializer,
          a.access_policy, a.plugin_version, a.workers,
          a.batch_notification_endpoint)


if __name__ == "__main__":
    main()
