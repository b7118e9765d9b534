"""Plain oslo.messaging endpoints for the interop parity tests.

The same classes are served by oslo_endpoint_server.py (oslo's own
get_rpc_server) and by oslohost with the Python SDK; the tests compare what
a Python client sees from each. They mirror test/pypeer/py/oslo_server.py's
endpoints (the host's interop list), plus record/recorded so casts can be
checked over RPC alike on both.
"""

import os
import threading
import time

import oslo_messaging


class WireError(Exception):
    """A custom exception with oslo-style kwargs."""

    def __init__(self, msg, code=7):
        super(WireError, self).__init__(msg)
        self.kwargs = {"code": code}


class DefaultEndpoint(object):
    """No target: namespace null, version 1.0."""

    # oslo's dispatcher dispatches to any attribute: a caller naming this
    # gets TypeError ('str' object is not callable).
    data_attribute = "not a method"

    def __init__(self, server):
        self._server = server
        self._cond = threading.Condition()
        self._casts = []

    def echo(self, ctxt, value=None, **kwargs):
        return {"value": value, "kwargs": kwargs, "ctxt_seen": ctxt,
                "server": self._server}

    def record(self, ctxt, **kwargs):
        with self._cond:
            self._casts.append({"kwargs": kwargs, "ctxt": ctxt})
            self._cond.notify_all()

    def recorded(self, ctxt, wait_for=None, timeout=10):
        """The casts recorded so far; with wait_for, once one whose n is
        wait_for arrived (or timeout seconds passed)."""
        with self._cond:
            self._cond.wait_for(
                lambda: wait_for is None or any(
                    c["kwargs"].get("n") == wait_for for c in self._casts),
                timeout)
            return list(self._casts)

    def none_result(self, ctxt):
        return None

    def types(self, ctxt):
        return {"int": 1, "float": 1.0, "big": 2 ** 63 - 1, "neg": -5,
                "exp": 1e300, "small": 5e-324, "true": True, "false": False,
                "none": None, "empty": "", "list": [1, "a", None, 2.5],
                "nested": {"a": {"b": []}}, "tuple": (1, 2),
                "unicode": "h\u00e9llo \u2603 \U0001F600",
                "escape": "\"\\/\b\f\n\r\t\u0000"}

    def fail_value(self, ctxt, msg="bad value"):
        raise ValueError(msg)

    def fail_custom(self, ctxt, msg, code=7):
        raise WireError(msg, code=code)

    def fail_key(self, ctxt, key="missing"):
        raise KeyError(key)

    @oslo_messaging.expected_exceptions(ValueError)
    def fail_expected(self, ctxt, msg="this one is expected"):
        raise ValueError(msg)

    def slow(self, ctxt, seconds):
        time.sleep(seconds)
        return "slept %s" % seconds

    def _private(self, ctxt):
        return "private!"

    def whoami(self, ctxt):
        return self._server

    def version(self, ctxt):
        return VERSION

    def exit(self, ctxt):
        # Kills the serving process, as a segfaulting C extension would.
        os._exit(3)


class Ns1Endpoint(object):
    target = oslo_messaging.Target(namespace="ns1", version="1.3")

    def vmeth(self, ctxt):
        return "ns1 endpoint, version 1.3"


class V75Endpoint(object):
    target = oslo_messaging.Target(version="7.5")

    def v75(self, ctxt):
        return "7.5"


class ExposedEndpoint(object):
    """For the explicit access policy: only shown() is callable."""

    target = oslo_messaging.Target(namespace="explicit")

    @oslo_messaging.expose
    def shown(self, ctxt):
        return "shown"

    def hidden(self, ctxt):
        return "hidden"


# The swap tests rewrite this line to tell generations apart.
VERSION = "v1"


def endpoints(config=None):
    """The endpoints in dispatch order; config {"server": NAME} names the
    server whoami and echo report."""
    server = (config or {}).get("server", "")
    return [DefaultEndpoint(server), Ns1Endpoint(), V75Endpoint(),
            ExposedEndpoint()]
