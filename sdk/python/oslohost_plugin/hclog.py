"""Python logging to the host, as hclog JSON lines on the real stderr.

go-plugin's host reads the plugin's stderr line by line; a JSON object with
"@level", "@message" and "@module" is re-emitted through the host's logger at
that level, its other keys as key/value pairs. The host hands its own level
to the plugin in OSLOHOST_PLUGIN_LOG_LEVEL so no line is written that the
host would drop.
"""

import datetime
import json
import logging
import os
import sys
import threading

ENV_LOG_LEVEL = "OSLOHOST_PLUGIN_LOG_LEVEL"

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
}


def _hclog_level(levelno):
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


_FORMATTER = logging.Formatter()


class HclogHandler(logging.Handler):
    """Writes records as hclog JSON lines to a stream (the real stderr)."""

    def __init__(self, stream=None):
        super(HclogHandler, self).__init__()
        self._stream = stream or sys.__stderr__
        self._lock = threading.Lock()

    def emit(self, record):
        try:
            line = {
                "@level": _hclog_level(record.levelno),
                "@message": record.getMessage(),
                "@module": record.name,
                "@timestamp": datetime.datetime.fromtimestamp(
                    record.created, datetime.timezone.utc).isoformat(),
            }
            if record.exc_info:
                line["error"] = _FORMATTER.formatException(record.exc_info)
            data = json.dumps(line, default=repr) + "\n"
            with self._lock:
                self._stream.write(data)
                self._stream.flush()
        except Exception:
            self.handleError(record)


def install():
    """Routes the root logger to the host at the host's level."""
    level = _LEVELS.get(os.environ.get(ENV_LOG_LEVEL, "info").lower(),
                        logging.INFO)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(HclogHandler())
    root.setLevel(level)
