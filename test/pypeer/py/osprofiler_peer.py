#!/usr/bin/python3
"""osprofiler traced through oslo.messaging the way nova does it.

Driven by the Go test harness (pypeer.StartProfiler). With osprofiler's
notifier pointed at stdout, it is both:

* a client that calls through nova.rpc.get_client (so nova's own
  ProfilerRequestContextSerializer writes trace_info into the context) inside
  a profiler.start("py-client-call") / stop() pair, after
  profiler.init(hmac_key) as nova's WSGI middleware does; and
* an oslo.messaging RPC server on --topic whose serializer is nova's
  ProfilerRequestContextSerializer (it pops trace_info and calls
  profiler.init(**trace_info)); its endpoint method traced_echo runs inside
  profiler.start("py-server-handle") / stop().

Every osprofiler trace point becomes one stdout line
{"kind": "span", "payload": <osprofiler's notification payload>} (name,
base_id, trace_id, parent_id, timestamp, info). Commands are JSON lines on
stdin; each gets one {"kind": "result", ...} line. The first line is READY.
Logs go to stderr. The process exits when stdin reaches EOF.

Commands (op):

    call   topic, method, args, hmac_key, timeout: a profiled call; returns
           result (or exc_class/msg) and the client's base_id and trace_id
    notify topic, event_type, payload, hmac_key: a profiled notification
           (messagingv2, nova's serializer), inside "py-client-notify";
           returns the client's base_id and trace_id
"""

import argparse
import json
import logging
import sys
import threading

from osprofiler import notifier, profiler

from nova import conf as nova_conf
from nova import context as nova_context
from nova import rpc

CONF = nova_conf.CONF
_lock = threading.Lock()


def emit(obj):
    with _lock:
        sys.stdout.write(json.dumps(obj, default=repr) + "\n")
        sys.stdout.flush()


def on_trace_point(payload, *args, **kwargs):
    emit({"kind": "span", "payload": payload})


class TracedEndpoint(object):
    def traced_echo(self, ctxt, **kwargs):
        try:
            p = profiler.get()
            seen = None
            if p is not None:
                seen = {"base_id": p.get_base_id(), "parent_id": p.get_id(),
                        "hmac_key": p.hmac_key}
                profiler.start("py-server-handle", info={"kwargs": kwargs})
                profiler.stop()
            return {"kwargs": kwargs, "profiler": seen,
                    "trace_info_left_in_ctxt": "trace_info" in ctxt.to_dict()}
        finally:
            profiler.clean()  # executor threads are reused


def do_call(cmd):
    import oslo_messaging as messaging
    profiler.clean()
    profiler.init(cmd["hmac_key"])
    profiler.start("py-client-call", info={"method": cmd["method"]})
    p = profiler.get()
    out = {"kind": "result", "base_id": p.get_base_id(), "trace_id": p.get_id()}
    try:
        client = rpc.get_client(messaging.Target(topic=cmd["topic"]))
        ctxt = nova_context.RequestContext(user_id="u-alice", project_id="p-demo",
                                           request_id="req-osprofiler")
        out["result"] = client.prepare(timeout=cmd.get("timeout", 30)).call(
            ctxt, cmd["method"], **cmd.get("args", {}))
    except Exception as e:
        out["exc_class"] = type(e).__name__
        out["msg"] = str(e)
    finally:
        profiler.stop()
        profiler.clean()
    return out


def do_notify(cmd):
    import oslo_messaging as messaging
    profiler.clean()
    profiler.init(cmd["hmac_key"])
    profiler.start("py-client-notify", info={"event_type": cmd["event_type"]})
    p = profiler.get()
    out = {"kind": "result", "base_id": p.get_base_id(), "trace_id": p.get_id()}
    try:
        n = messaging.Notifier(
            messaging.get_notification_transport(CONF), publisher_id="py.osprofiler",
            driver="messagingv2", topics=[cmd["topic"]],
            serializer=rpc.ProfilerRequestContextSerializer(messaging.NoOpSerializer()))
        ctxt = nova_context.RequestContext(user_id="u-alice", project_id="p-demo",
                                           request_id="req-osprofiler")
        n.info(ctxt, cmd["event_type"], cmd.get("payload"))
    except Exception as e:
        out["exc_class"] = type(e).__name__
        out["msg"] = str(e)
    finally:
        profiler.stop()
        profiler.clean()
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--exchange", required=True)
    p.add_argument("--topic", required=True)
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    CONF([], project="nova", default_config_files=[])
    import oslo_messaging as messaging
    from oslo_messaging import opts as messaging_opts
    for group, group_opts in messaging_opts.list_opts():
        CONF.register_opts(group_opts, group=group)
    CONF.set_override("transport_url", a.url)
    CONF.set_override("control_exchange", a.exchange)
    rpc.init(CONF)
    notifier.set(on_trace_point)

    server = messaging.get_rpc_server(
        rpc.TRANSPORT, messaging.Target(topic=a.topic, server="py-traced"),
        [TracedEndpoint()], executor="threading",
        serializer=rpc.ProfilerRequestContextSerializer(messaging.NoOpSerializer()))
    server.start()
    with _lock:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)
            if cmd.get("op") == "call":
                emit(do_call(cmd))
            elif cmd.get("op") == "notify":
                emit(do_notify(cmd))
            else:
                emit({"kind": "result", "driver_error": "unknown op %r" % cmd.get("op")})
    finally:
        server.stop()
        server.wait()


if __name__ == "__main__":
    main()
