"""Endpoints that use what the SDK offers beyond dispatch: the config block,
logging to the host, outgoing calls, casts and notifications through the
host, and a notification endpoint (handled, requeue, raising)."""

import logging
import threading

import oslo_messaging
from oslo_messaging.notify import dispatcher as notify_dispatcher

import oslohost_plugin

LOG = logging.getLogger("hostuse")

_lock = threading.Lock()
_seen = []          # notifications handled, in order
_requeued = set()   # message ids requeued once


class Audit(object):
    """A notification endpoint, as for oslo_messaging.get_notification_listener."""

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        with _lock:
            if isinstance(payload, dict) and payload.get("requeue_once") \
                    and metadata["message_id"] not in _requeued:
                _requeued.add(metadata["message_id"])
                return notify_dispatcher.NotificationResult.REQUEUE
            _seen.append({"priority": "info", "publisher_id": publisher_id,
                          "event_type": event_type, "payload": payload,
                          "ctxt": ctxt})
        return notify_dispatcher.NotificationResult.HANDLED

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        with _lock:
            _seen.append({"priority": "error", "event_type": event_type,
                          "payload": payload})
            first = metadata["message_id"] not in _requeued
            _requeued.add(metadata["message_id"])
        if first:
            raise RuntimeError("handler failed")  # oslo: requeue


class BatchAudit(object):
    """A batch notification endpoint, as for get_batch_notification_listener:
    a method takes a list of notifications."""

    def info(self, messages):
        with _lock:
            requeue = False
            for m in messages:
                if m["payload"].get("requeue_batch_once") and \
                        m["metadata"]["message_id"] not in _requeued:
                    _requeued.add(m["metadata"]["message_id"])
                    requeue = True
            for m in messages:
                _seen.append({"priority": "info", "batch": len(messages),
                              "event_type": m["event_type"],
                              "payload": m["payload"]})
        if requeue:
            return notify_dispatcher.NotificationResult.REQUEUE
        return notify_dispatcher.NotificationResult.HANDLED


class Relay(object):
    target = oslo_messaging.Target(namespace="relay", version="1.0")

    def seen(self, ctxt):
        with _lock:
            return list(_seen)

    def config(self, ctxt):
        return {"config": oslohost_plugin.config(),
                "name": oslohost_plugin.plugin_name()}

    def log(self, ctxt, msg):
        LOG.warning("endpoint says %s", msg)
        print("printed", msg)

    def relay_call(self, ctxt, topic, meth, **kwargs):
        client = oslohost_plugin.get_rpc_client(
            oslo_messaging.Target(topic=topic), timeout=20)
        return client.call(ctxt, meth, **kwargs)

    def relay_fail(self, ctxt, topic, meth, **kwargs):
        client = oslohost_plugin.get_rpc_client(
            oslo_messaging.Target(topic=topic), timeout=20)
        try:
            client.call(ctxt, meth, **kwargs)
        except Exception as e:
            return {"class": type(e).__name__, "module": type(e).__module__,
                    "message": str(e).split("\n")[0]}
        return None

    def relay_timeout(self, ctxt, topic):
        client = oslohost_plugin.get_rpc_client(
            oslo_messaging.Target(topic=topic), timeout=1)
        try:
            client.call(ctxt, "slow", seconds=5)
        except oslo_messaging.MessagingTimeout:
            return "MessagingTimeout"

    def relay_version_cap(self, ctxt, topic):
        client = oslohost_plugin.get_rpc_client(
            oslo_messaging.Target(topic=topic), version_cap="1.2")
        out = [client.can_send_version("1.2"), client.can_send_version("1.3")]
        try:
            client.prepare(version="1.3").call(ctxt, "echo")
        except oslo_messaging.RPCVersionCapError:
            out.append("RPCVersionCapError")
        return out

    def relay_cast(self, ctxt, topic, **kwargs):
        client = oslohost_plugin.get_rpc_client(
            oslo_messaging.Target(topic=topic))
        client.cast(ctxt, "record", **kwargs)

    def relay_notify(self, ctxt, topic, event_type, payload):
        notifier = oslohost_plugin.get_notifier("relay.host1", topics=[topic])
        notifier.info(ctxt, event_type, payload)
