"""Cross-check helper for python_test.go.

Run by the Go tests with the interpreter that has oslo.messaging. Reads one
JSON object on stdin, {"mode": ..., ...}, writes one JSON object on stdout.
Bodies travel base64-encoded so that their bytes are exact.

Modes:
  read    Python reads bodies the Go codec wrote: requests as an RPC server
          does (deserialize_msg, unpack_context), replies as an RPC client
          does (ReplyWaiter._process_reply, deserialize_remote_exception);
          JSON strings with json.loads; zlib streams with kombu.
  write   Python writes requests, replies and failures as amqpdriver does
          (serialize_msg, pack_context, serialize_remote_exception), and
          compresses bodies with kombu, for the Go codec to read.
  rules   version_is_compatible on (have, want) pairs, and the dispatcher's
          own exceptions serialized as a Python server sends them.
"""

import base64
import datetime
import json
import sys
import uuid

from kombu import compression, serialization
from oslo_serialization import jsonutils
from oslo_messaging._drivers import amqp as rpc_amqp
from oslo_messaging._drivers import common as rpc_common
from oslo_messaging._utils import version_is_compatible
from oslo_messaging.rpc import dispatcher


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text)


def load_body(body):
    return serialization.loads(body, "application/json", "utf-8")


def dump_body(msg):
    _, _, payload = serialization.dumps(msg, serializer="json")
    return payload.encode("utf-8") if isinstance(payload, str) else payload


def describe_exc(exc):
    cls = type(exc)
    out = {
        "module": cls.__module__,
        "class": cls.__name__,
        "mro": [c.__module__ + "." + c.__name__ for c in cls.__mro__],
        "str": str(exc),
        "args": [a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in exc.args],
    }
    for attr in ("exc_type", "value", "traceback"):  # RemoteError
        if hasattr(exc, attr):
            out[attr] = getattr(exc, attr)
    if isinstance(getattr(exc, "kwargs", None), dict):
        out["kwargs"] = exc.kwargs
    return out


def read_request(body):
    msg = rpc_common.deserialize_msg(load_body(body))
    unique_id = msg.pop(rpc_amqp.UNIQUE_ID, None)
    ctxt = rpc_amqp.unpack_context(msg)
    return {
        "method": msg.get("method"),
        "args": msg.get("args", {}),
        "namespace": msg.get("namespace"),
        "version": msg.get("version", "1.0"),
        "msg_id": ctxt.msg_id,
        "reply_q": ctxt.reply_q,
        "unique_id": unique_id,
        "ctxt": ctxt.to_dict(),
    }


def read_reply(body, allowed):
    data = rpc_common.deserialize_msg(load_body(body))
    out = {"msg_id": data.pop("_msg_id", None)}
    if data["failure"]:
        exc = rpc_common.deserialize_remote_exception(data["failure"], allowed)
        out["failure"] = describe_exc(exc)
    else:
        out["result"] = data.get("result", None)
    out["ending"] = data.get("ending", False)
    return out


def mode_read(req):
    out = {"requests": [], "replies": [], "strings": [], "zlib": []}
    for item in req.get("requests", []):
        out["requests"].append(read_request(unb64(item)))
    for item in req.get("replies", []):
        out["replies"].append(read_reply(unb64(item["body"]), item.get("allowed", [])))
    for item in req.get("strings", []):
        out["strings"].append(json.loads(unb64(item).decode("utf-8")))
    for item in req.get("zlib", []):
        out["zlib"].append(b64(compression.decompress(unb64(item), "application/x-gzip")))
    return out


class WireError(Exception):
    def __init__(self, message, **kwargs):
        super().__init__(message)
        self.kwargs = kwargs


WireError.__module__ = "wire_exc"

CONTEXT = {
    "user_id": "u1",
    "project_id": "p1",
    "request_id": "req-abc",
    "roles": ["admin", "member"],
    "is_admin": True,
    "auth_token": "SECRET-TOKEN",
    "nested": {"a": [1, None, 2.5], "é": "☃"},
}


def write_request(name, method, args, ctxt, call, namespace=None, version=None, cm_timeout=None):
    # RPCClient._make_message, then AMQPDriverBase._send.
    msg = {"method": method, "args": args}
    if namespace is not None:
        msg["namespace"] = namespace
    if version is not None:
        msg["version"] = version
    if call:
        msg["_msg_id"] = uuid.uuid4().hex
        msg["_reply_q"] = "reply_" + uuid.uuid4().hex
        msg["_timeout"] = cm_timeout
    rpc_amqp._add_unique_id(msg)
    rpc_amqp.pack_context(msg, ctxt)
    body = dump_body(rpc_common.serialize_msg(msg))
    try:
        expect = json.loads(jsonutils.dumps(msg), parse_constant=not_json)
    except ValueError:
        expect = None  # NaN or Infinity: Python wrote something that is not JSON
    return {"name": name, "body": b64(body), "expect": expect}


def not_json(token):
    raise ValueError("not JSON: " + token)


class LocalError(Exception):
    """An exception of module __main__, which tracebacks print bare."""


def failure_of(exc):
    try:
        raise exc
    except Exception:
        return rpc_common.serialize_remote_exception(sys.exc_info())


def write_reply(name, result=None, exc=None, ending=True):
    # AMQPIncomingMessage._send_reply.
    failure = failure_of(exc) if exc is not None else None
    msg = {"result": result, "failure": failure, "ending": ending, "_msg_id": uuid.uuid4().hex}
    rpc_amqp._add_unique_id(msg)
    body = dump_body(rpc_common.serialize_msg(msg))
    return {"name": name, "body": b64(body), "expect": json.loads(jsonutils.dumps(msg))}


def mode_write(req):
    when = datetime.datetime(2024, 5, 17, 12, 30, 45, 123456)
    args = {
        "value": "héllo",
        "emoji": "👍🏽",
        "sep": "a\u2028b",
        "ctl": "tab\there\nnl \x01",
        "quote": 'say "hi" \\ bye',
        "number": 7,
        "float": 2.5,
        "big": 2**53 + 1,
        "when": when,
        "tuple": (1, "two"),
        "nested": {"a": [1, 2.5, None, True]},
    }
    requests = [
        write_request("call", "echo", args, CONTEXT, True, namespace="ns1", version="1.3", cm_timeout=30),
        write_request("call_no_ctx", "ping", {}, {}, True),
        write_request("cast", "record", {"value": "cast-1"}, CONTEXT, False),
        write_request("nan", "echo", {"value": float("nan")}, {}, True),
        write_request("infinity", "echo", {"value": float("-inf")}, {}, False),
    ]
    replies = [
        write_reply("result", result={"value": "héllo", "list": [1, 2.5, None, True], "when": when}),
        write_reply("none"),
        write_reply("heartbeat", ending=False),
        write_reply("list", result=[1, {"a": None}]),
        write_reply("valueerror", exc=ValueError("bad value: v1")),
        write_reply("keyerror", exc=KeyError("missing")),
        write_reply("noargs", exc=RuntimeError()),
        write_reply("unicode", exc=ValueError('ünïcødé ☃ "quotes" \\ back\nslash')),
        write_reply("custom", exc=WireError("custom failure", code=42, detail="xyz")),
        write_reply("main_module", exc=LocalError("local")),
        write_reply("nosuchmethod", exc=dispatcher.NoSuchMethod("does_not_exist")),
        write_reply("unsupportedversion", exc=dispatcher.UnsupportedVersion("1.4", method="vmeth")),
    ]
    plain = dump_body(rpc_common.serialize_msg({"method": "record", "args": {"x": "y" * 2000}}))
    compressed = []
    for header in ("application/x-gzip", "application/x-bz2"):
        data, content_type = compression.compress(plain, header)
        compressed.append({"header": content_type, "body": b64(data)})
    return {"requests": requests, "replies": replies, "plain": b64(plain), "compressed": compressed}


def mode_rules(req):
    compat = []
    for have, want in req.get("compat", []):
        try:
            compat.append({"ok": version_is_compatible(have or None, want or None)})
        except Exception as exc:
            compat.append({"error": type(exc).__name__, "message": str(exc)})
    failures = {}
    for key, exc in (
        ("nosuchmethod", dispatcher.NoSuchMethod(req["method"])),
        ("unsupported", dispatcher.UnsupportedVersion(req["version"], method=req["method"])),
        ("unsupported_nomethod", dispatcher.UnsupportedVersion(req["version"])),
    ):
        failures[key] = json.loads(failure_of(exc))
    return {"compat": compat, "failures": failures}


def main():
    req = json.load(sys.stdin)
    mode = {"read": mode_read, "write": mode_write, "rules": mode_rules}[req["mode"]]
    json.dump(mode(req), sys.stdout)


if __name__ == "__main__":
    main()
