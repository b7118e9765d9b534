"""oslohost_plugin: serve ordinary oslo.messaging endpoints as an oslohost plugin.

The endpoint classes stay as they are for oslo_messaging.get_rpc_server
(a ``target = oslo_messaging.Target(namespace=..., version=...)``, methods
``def m(self, ctxt, **kwargs)``); oslohost starts this package as the
plugin process:

    plugin "calc" {
      command = "/usr/bin/python3"
      args    = ["-m", "oslohost_plugin", "--endpoint", "calc:endpoints"]
      env     = { PYTHONPATH = "/opt/oslohost/sdk/python:/opt/calc" }
    }

or a script calls serve(endpoints=[...]). Inside a method, config() is the
plugin's config block, and get_rpc_client() / get_notifier() send calls,
casts and notifications through the host. Python logging goes to the
host's log. See sdk/python/README.md.
"""

import os
import sys

__all__ = ["serve", "config", "plugin_name", "get_rpc_client",
           "get_notifier", "on_close", "ConfigError"]

# plugin/pluginv1's contract (handshake.go, size.go), which Python cannot
# import; test/pyplugin TestPythonContract keeps them equal.
# Version 2 of oslohost's plugin protocol: every invocation and
# notification on the one Calls stream (version 1 had unary Invoke and
# Notify; hosts of version 2 refuse it).
PROTOCOL_VERSION = 2
MAGIC_COOKIE_KEY = "OSLOHOST_PLUGIN"
MAGIC_COOKIE_VALUE = "d8c3a1f0-oslohost-endpoint-plugin-v1"
ENV_MAX_MESSAGE_SIZE = "OSLOHOST_PLUGIN_MAX_MESSAGE_SIZE"
DEFAULT_MAX_MESSAGE_SIZE = 64 << 20

_state = {"plugin": None, "server": None, "host": None}


# Raised by a factory to refuse its config block: the plugin does not start.
from .endpoint import ConfigError  # noqa: E402


def _max_message_size():
    v = os.environ.get(ENV_MAX_MESSAGE_SIZE, "")
    if not v:
        return DEFAULT_MAX_MESSAGE_SIZE
    if not v.isdigit() or int(v) <= 0:
        raise SystemExit("%s=%r: want a positive number of bytes"
                         % (ENV_MAX_MESSAGE_SIZE, v))
    return int(v)


def serve(endpoints=(), notification_endpoints=(), serializer=None,
          access_policy=None, version="", workers=64,
          batch_notification_endpoints=()):
    """Serves the endpoints as an oslohost plugin; does not return.

    endpoints, notification_endpoints: endpoint objects, classes (made
      with no arguments), factories (called with the config block, a dict,
      returning one endpoint or a list) or "module:attr" strings naming one;
      built when the host configures the plugin, in order.
    serializer: an oslo_messaging Serializer (object, class or
      "module:attr"), applied as oslo applies it to context and entities.
    access_policy: "default" (oslo's DefaultRPCAccessPolicy), "explicit"
      (only @oslo_messaging.expose methods), "legacy", or a policy class.
    workers: calls run concurrently (oslo's executor_thread_pool_size).
    batch_notification_endpoints: endpoints whose methods take a list of
      notifications, as for oslo_messaging.get_batch_notification_listener;
      route a listener with a batch block to the plugin.
    """
    from . import endpoint
    from . import goplugin
    from . import hclog

    try:
        goplugin.negotiate(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
                           [PROTOCOL_VERSION])
    except goplugin.HandshakeError as e:
        sys.stderr.write(str(e) + "\n")
        sys.exit(1)
    hclog.install()
    size = _max_message_size()

    def on_configure(p):
        from . import host
        _state["host"] = host.HostConnection(
            _state["server"].broker, p.host_broker_id, size)

    plugin = endpoint.Plugin(endpoints, notification_endpoints, serializer,
                             access_policy, version, workers, on_configure,
                             batch_notification_endpoints, size)
    _state["plugin"] = plugin

    def register(server, ps):
        from ._pb import endpoint_pb2_grpc
        endpoint_pb2_grpc.add_EndpointServicer_to_server(plugin, server)

    srv = goplugin.PluginServer(PROTOCOL_VERSION, register, workers, size,
                                on_stop=plugin.close)
    _state["server"] = srv
    srv.serve()


def config():
    """The plugin's config block as a dict ({} when none is configured)."""
    p = _state["plugin"]
    return dict(p.config) if p is not None else {}


def plugin_name():
    """The plugin's name in the host's configuration."""
    p = _state["plugin"]
    return p.name if p is not None else ""


def _conn():
    c = _state["host"]
    if c is None:
        import oslo_messaging
        raise oslo_messaging.MessageDeliveryFailure(
            "not running under oslohost (or not configured yet)")
    return c


def get_rpc_client(target, serializer=None, timeout=None,
                   call_monitor_timeout=None, allowed_remote_exmods=(),
                   version_cap=None):
    """An oslo_messaging.RPCClient-like client whose calls and casts the
    host sends. target is an oslo_messaging.Target (exchange "" means the
    host's control exchange)."""
    from . import host
    return host.RPCClient(_conn(), target, serializer, timeout,
                          call_monitor_timeout, allowed_remote_exmods,
                          version_cap)


def get_notifier(publisher_id, topics=None, serializer=None):
    """An oslo_messaging.Notifier-like notifier (messagingv2) whose
    notifications the host sends; topics default to ["notifications"]."""
    from . import host
    return host.Notifier(_conn(), publisher_id, topics, serializer)


def on_close(hook):
    """Registers hook() to run when the host stops the plugin."""
    p = _state["plugin"]
    if p is not None:
        p.on_close(hook)
