"""The pluginv1 Endpoint service over ordinary oslo.messaging endpoints.

Calls are dispatched by oslo.messaging's own RPCDispatcher, so target
matching, the access policy, the serializer (context and entities) and
expected_exceptions behave exactly as under oslo_messaging.get_rpc_server;
failures are serialized by oslo's own serialize_remote_exception, as a
Python server replies them. Notifications go through oslo's
NotificationDispatcher (filter rules, priorities, handled or requeue).
"""

import importlib
import inspect
import json
import logging
import queue
import sys
import threading
from concurrent import futures

import grpc
from oslo_messaging import serializer as msg_serializer
from oslo_messaging import target as msg_target
from oslo_messaging._drivers import common as rpc_common
from oslo_messaging.notify import dispatcher as notify_dispatcher
from oslo_messaging.rpc import dispatcher as rpc_dispatcher
from oslo_serialization import jsonutils

from ._pb import endpoint_pb2
from ._pb import endpoint_pb2_grpc

LOG = logging.getLogger("oslohost_plugin")

# The one notification handler a plugin describes: every notification
# endpoint behind one oslo NotificationDispatcher, as in one oslo listener.
NOTIFICATION_HANDLER = "notifications"
# The batch notification endpoints behind one BatchNotificationDispatcher,
# as in one oslo batch listener (get_batch_notification_listener).
BATCH_NOTIFICATION_HANDLER = "batch-notifications"

_PRIORITIES = ["audit", "debug", "info", "warn", "error", "critical",
               "sample"]

_POLICIES = {
    "default": rpc_dispatcher.DefaultRPCAccessPolicy,
    "explicit": rpc_dispatcher.ExplicitRPCAccessPolicy,
    "legacy": rpc_dispatcher.LegacyRPCAccessPolicy,
}


class ConfigError(Exception):
    """The plugin cannot be configured as declared (reported to the host)."""


def _env_hint():
    return ("the plugin's env must set PYTHONPATH to the directories of the "
            "oslohost SDK (sdk/python) and of your module; sys.path is %s"
            % sys.path)


def resolve(spec, what):
    """Returns the object "module:attr" (or "module.attr") names."""
    if ":" in spec:
        mod_name, _, attr = spec.partition(":")
    else:
        mod_name, _, attr = spec.rpartition(".")
    if not mod_name or not attr:
        raise ConfigError("%s %r: want module:attribute, e.g. "
                          "mymodule:MyEndpoint" % (what, spec))
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        raise ConfigError("%s %r: cannot import module %r: %s; %s"
                          % (what, spec, mod_name, e, _env_hint()))
    except Exception as e:
        raise ConfigError("%s %r: importing module %r failed: %s: %s"
                          % (what, spec, mod_name, type(e).__name__, e))
    obj = mod
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError("%s %r: module %r (%s) has no attribute %r"
                              % (what, spec, mod_name,
                                 getattr(mod, "__file__", "?"), attr))
    return obj


def instantiate(obj, config, what):
    """Endpoints from a declared object: a class is instantiated without
    arguments, another callable (a factory) is called with the config
    block (a dict); anything else is an endpoint itself. A factory may
    return one endpoint or a list."""
    try:
        if inspect.isclass(obj):
            made = obj()
        elif callable(obj):
            made = obj(config)
        else:
            made = obj
    except Exception as e:
        raise ConfigError("%s: creating the endpoint failed: %s: %s"
                          % (what, type(e).__name__, e))
    if isinstance(made, (list, tuple)):
        return list(made)
    return [made]


def _target(endpoint):
    t = getattr(endpoint, "target", None)
    return t if t is not None else msg_target.Target()


def rpc_methods(endpoint, policy):
    """The names oslo's dispatcher would dispatch to on endpoint under
    policy: every attribute it has (hasattr) that the policy allows, a
    data attribute too (oslo then raises TypeError: not callable). Dunder
    names are left out."""
    return sorted(name for name in dir(endpoint)
                  if not name.startswith("__") and
                  policy.is_allowed(endpoint, name))


class _Incoming(object):
    """The parts of an oslo incoming message the dispatchers read."""

    client_timeout = None  # the host sends the call-monitor heartbeats

    def __init__(self, ctxt, message):
        self.ctxt = ctxt
        self.message = message


def _failure(exc_info, expected):
    data = json.loads(rpc_common.serialize_remote_exception(exc_info))
    return endpoint_pb2.Failure(
        class_name=data["class"], module=data["module"],
        message=data["message"], traceback=data["tb"],
        args_json=jsonutils.dumps(data["args"]).encode(),
        kwargs_json=jsonutils.dumps(data["kwargs"]).encode(),
        expected=expected)


def _loads(b, default):
    return json.loads(b) if b else default


class _CallError(Exception):
    """A call that could not be made: a gRPC status for its CallResult."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _call_error(call_id, code, message):
    return endpoint_pb2.CallResult(id=call_id, error=endpoint_pb2.CallError(
        code=code.value[0], message=message))


class Plugin(endpoint_pb2_grpc.EndpointServicer):
    """Serves oslo endpoints as a pluginv1 Endpoint.

    endpoints and notification_endpoints are lists of endpoint objects,
    classes, factories or "module:attr" strings naming one, built at
    Configure (so factories see the config block).
    """

    def __init__(self, endpoints=(), notification_endpoints=(),
                 serializer=None, access_policy=None, version="",
                 workers=64, on_configure=None,
                 batch_notification_endpoints=(),
                 max_message_size=64 << 20):
        self._specs = list(endpoints)
        self._nspecs = list(notification_endpoints)
        self._bspecs = list(batch_notification_endpoints)
        self._serializer_spec = serializer
        self._policy_spec = access_policy
        self._version = version
        self._on_configure = on_configure
        self._close_hooks = []
        self._max_message_size = max_message_size
        self._pool = futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="endpoint")
        self._lock = threading.Lock()
        self._dispatcher = None
        self._ndispatcher = None
        self._bdispatcher = None
        self.endpoints = []
        self.notification_endpoints = []
        self.config = {}
        self.name = ""
        self.host_broker_id = 0

    # -- configuration -------------------------------------------------

    def _build(self, specs, what):
        out = []
        for spec in specs:
            label = spec if isinstance(spec, str) else repr(spec)
            obj = resolve(spec, what) if isinstance(spec, str) else spec
            out.extend(instantiate(obj, self.config,
                                   "%s %s" % (what, label)))
        return out

    def _serializer(self):
        s = self._serializer_spec
        if s is None:
            return msg_serializer.NoOpSerializer()
        if isinstance(s, str):
            s = resolve(s, "serializer")
        if inspect.isclass(s) or (callable(s) and not
                                  isinstance(s, msg_serializer.Serializer)):
            try:
                s = s()  # a Serializer class, or a factory of one
            except Exception as e:
                raise ConfigError("serializer %r: %s: %s"
                                  % (self._serializer_spec,
                                     type(e).__name__, e))
        if not isinstance(s, msg_serializer.Serializer):
            raise ConfigError("serializer %r is not an "
                              "oslo_messaging.serializer.Serializer"
                              % (self._serializer_spec,))
        return s

    def _policy(self):
        p = self._policy_spec
        if p is None:
            return None
        if isinstance(p, str):
            p = _POLICIES.get(p) or resolve(p, "access policy")
        if not (inspect.isclass(p) and
                issubclass(p, rpc_dispatcher.RPCAccessPolicyBase)):
            raise ConfigError("access policy %r is not a subclass of "
                              "RPCAccessPolicyBase" % (self._policy_spec,))
        return p

    def configure(self, name, config, host_broker_id=0):
        """Builds the endpoints and dispatchers (Configure, or a test)."""
        self.name = name
        self.config = config
        self.host_broker_id = host_broker_id
        if self._on_configure is not None:
            self._on_configure(self)
        endpoints = self._build(self._specs, "endpoint")
        nendpoints = self._build(self._nspecs, "notification endpoint")
        bendpoints = self._build(self._bspecs, "batch notification endpoint")
        if not endpoints and not nendpoints and not bendpoints:
            raise ConfigError("no endpoints declared: give --endpoint "
                              "module:Class (or serve(endpoints=[...]))")
        serializer = self._serializer()
        try:
            dispatcher = rpc_dispatcher.RPCDispatcher(
                endpoints, serializer, self._policy())
        except TypeError as e:
            raise ConfigError(str(e))
        ndispatcher = bdispatcher = None
        if nendpoints:
            ndispatcher = notify_dispatcher.NotificationDispatcher(
                nendpoints, serializer)
        if bendpoints:
            bdispatcher = notify_dispatcher.BatchNotificationDispatcher(
                bendpoints, serializer)
        with self._lock:
            self.endpoints = dispatcher.endpoints
            self.notification_endpoints = nendpoints + bendpoints
            self._dispatcher = dispatcher
            self._ndispatcher = ndispatcher
            self._bdispatcher = bdispatcher

    def describe(self):
        d = self._dispatcher
        resp = endpoint_pb2.DescribeResponse(plugin_version=self._version)
        for ep in d.endpoints:
            t = _target(ep)
            resp.endpoints.add(
                namespace=t.namespace or "",
                version=t.version or "",
                methods=rpc_methods(ep, d.access_policy),
                legacy_namespaces=[n or "" for n in t.accepted_namespaces[1:]])
        if self._ndispatcher is not None:
            prios = self._ndispatcher.supported_priorities
            resp.notification_handlers.add(
                name=NOTIFICATION_HANDLER,
                priorities=[p for p in _PRIORITIES if p in prios])
        if self._bdispatcher is not None:
            prios = self._bdispatcher.supported_priorities
            resp.notification_handlers.add(
                name=BATCH_NOTIFICATION_HANDLER, batch=True,
                priorities=[p for p in _PRIORITIES if p in prios])
        return resp

    # -- calls ---------------------------------------------------------

    def invoke(self, req):
        """One call, as oslo's RPCServer._process_incoming runs it."""
        message = {
            "method": req.method,
            "args": _loads(req.args_json, {}),
            "namespace": req.request_namespace or None,
        }
        if req.request_version:
            message["version"] = req.request_version
        ctxt = _loads(req.context_json, {})
        if "client_timeout" in ctxt:
            # oslo's driver adds it after the caller's keys.
            ctxt["client_timeout"] = ctxt.pop("client_timeout")
        incoming = _Incoming(ctxt, message)
        failure = None
        expected = False
        try:
            res = self._dispatcher.dispatch(incoming)
        except rpc_dispatcher.ExpectedException as e:
            failure, expected = e.exc_info, True
            LOG.debug("Expected exception during message handling (%s)", e)
        except Exception:
            failure = sys.exc_info()
            LOG.exception("Exception during message handling")
        if failure is not None:
            try:
                return endpoint_pb2.InvokeResponse(
                    failure=_failure(failure, expected))
            finally:
                del failure
        return endpoint_pb2.InvokeResponse(
            result_json=jsonutils.dumps(res).encode())

    @staticmethod
    def _incoming_notification(n):
        return _Incoming(_loads(n.context_json, {}), {
            "priority": n.priority.upper(),
            "publisher_id": n.publisher_id,
            "event_type": n.event_type,
            "payload": _loads(n.payload_json, None),
            "message_id": n.message_id,
            "timestamp": n.timestamp,
        })

    def notify_batch(self, req):
        """A batch, as oslo's batch listener hands it to its dispatcher."""
        incomings = [self._incoming_notification(n)
                     for n in req.notifications]
        error = ""
        try:
            requeues = self._bdispatcher.dispatch(incomings)
        except Exception as e:
            LOG.exception("Notification dispatch failed")
            requeues, error = set(incomings), "%s: %s" % (type(e).__name__, e)
        resp = endpoint_pb2.NotifyResponse()
        for incoming in incomings:
            if incoming in requeues:
                resp.results.add(outcome=endpoint_pb2.NotifyResult.REQUEUE,
                                 error=error or "requeued by the endpoint")
            else:
                resp.results.add(outcome=endpoint_pb2.NotifyResult.HANDLED)
        return resp

    def notify(self, req):
        resp = endpoint_pb2.NotifyResponse()
        for n in req.notifications:
            incoming = self._incoming_notification(n)
            error = ""
            try:
                r = self._ndispatcher.dispatch(incoming)
            except Exception as e:
                LOG.exception("Notification dispatch failed")
                r, error = notify_dispatcher.NotificationResult.REQUEUE, \
                    "%s: %s" % (type(e).__name__, e)
            if r == notify_dispatcher.NotificationResult.REQUEUE:
                resp.results.add(outcome=endpoint_pb2.NotifyResult.REQUEUE,
                                 error=error or "requeued by the endpoint")
            else:
                resp.results.add(outcome=endpoint_pb2.NotifyResult.HANDLED)
        return resp

    # -- gRPC ----------------------------------------------------------

    def Configure(self, request, context):
        try:
            config = _loads(request.config_json, {})
            self.configure(request.plugin_name, config,
                           request.host_service_broker_id)
        except ConfigError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except Exception as e:
            LOG.exception("configure failed")
            context.abort(grpc.StatusCode.INTERNAL, "configure failed: %s: %s"
                          % (type(e).__name__, e))
        return endpoint_pb2.ConfigureResponse()

    def Describe(self, request, context):
        if self._dispatcher is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          "plugin not configured")
        return self.describe()

    def _notify(self, req):
        if req.handler == NOTIFICATION_HANDLER and \
                self._ndispatcher is not None:
            return self.notify(req)
        if req.handler == BATCH_NOTIFICATION_HANDLER and \
                self._bdispatcher is not None:
            return self.notify_batch(req)
        raise _CallError(grpc.StatusCode.NOT_FOUND,
                         "no notification handler %r" % req.handler)

    def call(self, frame):
        """The CallResult of one invoke or notify frame of Calls."""
        op = frame.WhichOneof("op")
        try:
            if self._dispatcher is None:
                raise _CallError(grpc.StatusCode.FAILED_PRECONDITION,
                                 "plugin not configured")
            if op == "invoke":
                res = endpoint_pb2.CallResult(
                    id=frame.id, invoke=self.invoke(frame.invoke))
            else:
                res = endpoint_pb2.CallResult(
                    id=frame.id, notify=self._notify(frame.notify))
        except _CallError as e:
            res = _call_error(frame.id, e.code, e.message)
        except Exception as e:  # a bug here, not in the endpoint
            LOG.exception("%s failed", op)
            res = _call_error(frame.id, grpc.StatusCode.INTERNAL, str(e))
        n = res.ByteSize()
        if n > self._max_message_size:
            # Alone, as a unary call would fail: a message over the cap
            # would end the stream.
            res = _call_error(
                frame.id, grpc.StatusCode.RESOURCE_EXHAUSTED,
                "grpc: trying to send message larger than max (%d vs. %d)"
                % (n, self._max_message_size))
        return res

    def Calls(self, request_iterator, context):
        """The host's one stream of invocations and notifications.

        Each invoke and notify frame runs on the worker pool and its
        CallResult goes back as soon as it is ready, in any order. A
        cancel frame cannot stop a Python thread: the call runs to its end
        and the host drops its result. When the host closes its side, the
        calls still running finish and their results are sent.
        """
        out = queue.Queue()
        state = {"pending": 0, "reading": True}
        lock = threading.Lock()

        def run(frame):
            out.put(self.call(frame))

        def read():
            try:
                for frame in request_iterator:
                    if frame.WhichOneof("op") in ("invoke", "notify"):
                        with lock:
                            state["pending"] += 1
                        self._pool.submit(run, frame)
            except Exception:
                pass
            finally:
                with lock:
                    state["reading"] = False
                out.put(None)

        threading.Thread(target=read, name="calls-stream",
                         daemon=True).start()
        while context.is_active():
            try:
                item = out.get(timeout=1.0)
            except queue.Empty:
                continue
            if item is None:
                with lock:
                    if state["pending"] == 0:
                        return
                continue
            with lock:
                state["pending"] -= 1
                done = not state["reading"] and state["pending"] == 0
            yield item
            if done:
                return

    def on_close(self, hook):
        """Registers hook() to run when the host closes the plugin."""
        self._close_hooks.append(hook)

    def Close(self, request, context):
        self.close()
        return endpoint_pb2.CloseResponse()

    def close(self):
        """Runs the close hooks registered with oslohost_plugin.on_close."""
        hooks, self._close_hooks = self._close_hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:
                LOG.exception("close hook %r failed", hook)
