"""The calc endpoints of plugins/examples/calc, as plain oslo.messaging endpoints.

Nothing here knows about oslohost: oslo_server.py serves these classes with
oslo_messaging.get_rpc_server, and oslohost serves the same module as a
plugin (python3 -m oslohost_plugin --endpoint calc:endpoints; see
plugin.hcl). Semantics of oslo.messaging's functional-test endpoint
(TestServerEndpoint in oslo_messaging/tests/functional/utils.py):

    client.call(ctxt, "add", increment=2)              # 2
    client.call(ctxt, "subtract", increment=3)         # raises ValueError
    client.call(ctxt, "append", text="open")           # "open"
    client.call(ctxt, "long_running_task", seconds=1)  # None, a second later
    client.call(ctxt, "delay", seconds=1)              # 1, a second later

    admin = client.prepare(namespace="calc_admin", version="2.1")
    admin.call(ctxt, "get_state")                      # {"ival": 2, "sval": "open"}
    admin.call(ctxt, "reset")                          # {"ival": 0, "sval": ""}
"""

import threading
import time

import oslo_messaging

# 1.0 add and subtract, 1.1 append, 1.2 long_running_task, 1.3 delay.
VERSION = "1.3"
# 2.0 get_state and reset, 2.1 version.
ADMIN_NAMESPACE = "calc_admin"
ADMIN_VERSION = "2.1"


class CalcEndpoint(object):
    """The calc endpoint. Methods run concurrently: state is under a lock."""

    target = oslo_messaging.Target(version=VERSION)

    def __init__(self, start=0):
        if start < 0:
            raise ValueError("start must not be negative, got %d" % start)
        self.lock = threading.Lock()
        self.start = start
        self.ival = start
        self.sval = ""

    def add(self, ctxt, increment):
        with self.lock:
            self.ival += increment
            return self.ival

    # A caller's mistake: oslo replies with the ValueError but does not log
    # it as a server failure.
    @oslo_messaging.expected_exceptions(ValueError)
    def subtract(self, ctxt, increment):
        with self.lock:
            if self.ival < increment:
                raise ValueError("ival can't go negative!")
            self.ival -= increment
            return self.ival

    def append(self, ctxt, text):
        with self.lock:
            self.sval += text
            return self.sval

    def long_running_task(self, ctxt, seconds):
        time.sleep(seconds)

    def delay(self, ctxt, seconds):
        time.sleep(seconds)
        return seconds


class AdminEndpoint(object):
    """The calc_admin endpoint over the state of a CalcEndpoint."""

    target = oslo_messaging.Target(namespace=ADMIN_NAMESPACE,
                                   version=ADMIN_VERSION)

    def __init__(self, calc):
        self.calc = calc

    def get_state(self, ctxt):
        with self.calc.lock:
            return {"ival": self.calc.ival, "sval": self.calc.sval}

    def reset(self, ctxt):
        with self.calc.lock:
            self.calc.ival, self.calc.sval = self.calc.start, ""
            return {"ival": self.calc.ival, "sval": self.calc.sval}

    def version(self, ctxt):
        return ADMIN_VERSION


def endpoints(config=None):
    """The two endpoints, sharing one fresh state. config is the plugin's
    config block under oslohost: {"start": N} sets the initial ival."""
    calc = CalcEndpoint(start=int((config or {}).get("start", 0)))
    return [calc, AdminEndpoint(calc)]
