"""Outgoing RPC calls, casts and notifications through the host.

The host serves its Host service (plugin/pluginv1/host.proto) to the plugin
over go-plugin's broker, on its own broker connection, so a plugin needs no
broker credentials. RPCClient and Notifier mirror oslo_messaging's
RPCClient and Notifier: the same call/cast/prepare and
info/error/... signatures, the serializer applied to the context and each
argument, and a remote failure re-raised as oslo's client raises it
(deserialize_remote_exception: builtins as themselves, allowed modules
rebuilt, others as RemoteError).
"""

import json
import threading

import grpc
import oslo_messaging
from oslo_messaging import serializer as msg_serializer
from oslo_messaging import _utils as msg_utils
from oslo_messaging._drivers import common as rpc_common
from oslo_serialization import jsonutils

from ._pb import host_pb2
from ._pb import host_pb2_grpc


class HostConnection(object):
    """The plugin's connection to the Host service, dialled on first use."""

    def __init__(self, broker, broker_id, max_message_size):
        self._broker = broker
        self._id = broker_id
        self._size = max_message_size
        self._lock = threading.Lock()
        self._stub = None

    def stub(self):
        with self._lock:
            if self._stub is None:
                if not self._id or self._broker is None:
                    raise oslo_messaging.MessageDeliveryFailure(
                        "the host serves no Host service to this plugin")
                ch = self._broker.dial(self._id, options=[
                    ("grpc.max_send_message_length", self._size),
                    ("grpc.max_receive_message_length", self._size)])
                self._stub = host_pb2_grpc.HostStub(ch)
            return self._stub


def _ctxt_json(serializer, ctxt):
    c = serializer.serialize_context(ctxt)
    if c is None:
        return b""
    if hasattr(c, "to_dict"):
        c = c.to_dict()
    return jsonutils.dumps(c).encode()


def _raise_grpc(e, target, method):
    code = e.code()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        raise oslo_messaging.MessagingTimeout(
            "Timed out waiting for a reply to %s: %s" % (method, e.details()))
    if code == grpc.StatusCode.NOT_FOUND:
        raise oslo_messaging.MessageUndeliverable(
            e, target.exchange, target.topic, None)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        raise oslo_messaging.InvalidTarget(e.details(), target)
    raise oslo_messaging.MessageDeliveryFailure(
        "the host could not send %s: %s" % (method, e.details()))


class RPCClient(object):
    """oslo_messaging.RPCClient over the host (see get_rpc_client)."""

    def __init__(self, conn, target, serializer=None, timeout=None,
                 call_monitor_timeout=None, allowed_remote_exmods=(),
                 version_cap=None):
        self._conn = conn
        self.version_cap = version_cap
        self.target = target
        self.serializer = serializer or msg_serializer.NoOpSerializer()
        self.timeout = timeout
        self.call_monitor_timeout = call_monitor_timeout
        self._exmods = list(allowed_remote_exmods)

    def prepare(self, exchange=None, topic=None, namespace=None,
                version=None, server=None, fanout=None, timeout=None,
                call_monitor_timeout=None, version_cap=None, **_ignored):
        kw = {}
        for k, v in (("exchange", exchange), ("topic", topic),
                     ("namespace", namespace), ("version", version),
                     ("server", server), ("fanout", fanout)):
            if v is not None:
                kw[k] = v
        return RPCClient(
            self._conn, self.target(**kw), self.serializer,
            timeout if timeout is not None else self.timeout,
            call_monitor_timeout if call_monitor_timeout is not None
            else self.call_monitor_timeout, self._exmods,
            version_cap if version_cap is not None else self.version_cap)

    def can_send_version(self, version=None):
        """Whether version (default: the target's) is within version_cap."""
        if version is None:
            version = self.target.version
        return msg_utils.version_is_compatible(self.version_cap, version)

    def _check_version_cap(self):
        if self.version_cap and not self.can_send_version():
            raise oslo_messaging.RPCVersionCapError(
                version=self.target.version, version_cap=self.version_cap)

    def _target(self):
        t = self.target
        return host_pb2.HostTarget(
            exchange=t.exchange or "", topic=t.topic or "",
            server=t.server or "", namespace=t.namespace or "",
            version=t.version or "", fanout=bool(t.fanout))

    def _args(self, ctxt, kwargs):
        return jsonutils.dumps({k: self.serializer.serialize_entity(ctxt, v)
                                for k, v in kwargs.items()}).encode()

    def call(self, ctxt, method, **kwargs):
        self._check_version_cap()
        req = host_pb2.HostCallRequest(
            target=self._target(), method=method,
            args_json=self._args(ctxt, kwargs),
            context_json=_ctxt_json(self.serializer, ctxt),
            timeout_ms=int((self.timeout or 0) * 1000),
            call_monitor_timeout_ms=int(
                (self.call_monitor_timeout or 0) * 1000))
        try:
            resp = self._conn.stub().Call(req)
        except grpc.RpcError as e:
            _raise_grpc(e, self.target, method)
        if resp.WhichOneof("outcome") == "failure":
            f = resp.failure
            data = jsonutils.dumps({
                "class": f.class_name, "module": f.module,
                "message": f.message, "tb": list(f.traceback),
                "args": json.loads(f.args_json or b"[]"),
                "kwargs": json.loads(f.kwargs_json or b"{}"),
            })
            raise rpc_common.deserialize_remote_exception(data, self._exmods)
        return self.serializer.deserialize_entity(
            ctxt, json.loads(resp.result_json or b"null"))

    def cast(self, ctxt, method, **kwargs):
        self._check_version_cap()
        req = host_pb2.HostCastRequest(
            target=self._target(), method=method,
            args_json=self._args(ctxt, kwargs),
            context_json=_ctxt_json(self.serializer, ctxt),
            timeout_ms=int((self.timeout or 0) * 1000))
        try:
            self._conn.stub().Cast(req)
        except grpc.RpcError as e:
            _raise_grpc(e, self.target, method)


class Notifier(object):
    """oslo_messaging.Notifier over the host (see get_notifier)."""

    def __init__(self, conn, publisher_id, topics=None, serializer=None):
        self._conn = conn
        self.publisher_id = publisher_id
        self.topics = list(topics or [])
        self.serializer = serializer or msg_serializer.NoOpSerializer()

    def prepare(self, publisher_id=None, topics=None, **_ignored):
        return Notifier(self._conn,
                        publisher_id or self.publisher_id,
                        topics if topics is not None else self.topics,
                        self.serializer)

    def _notify(self, ctxt, event_type, payload, priority):
        payload = self.serializer.serialize_entity(ctxt, payload)
        req = host_pb2.HostNotifyRequest(
            publisher_id=self.publisher_id, topics=self.topics,
            priority=priority, event_type=event_type,
            payload_json=jsonutils.dumps(payload).encode(),
            context_json=_ctxt_json(self.serializer, ctxt))
        try:
            self._conn.stub().Notify(req)
        except grpc.RpcError as e:
            raise oslo_messaging.MessageDeliveryFailure(
                "the host could not send notification %s: %s"
                % (event_type, e.details()))

    def audit(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "AUDIT")

    def debug(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "DEBUG")

    def info(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "INFO")

    def warn(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "WARN")

    warning = warn

    def error(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "ERROR")

    def critical(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "CRITICAL")

    def sample(self, ctxt, event_type, payload):
        self._notify(ctxt, event_type, payload, "SAMPLE")
