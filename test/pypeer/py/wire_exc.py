"""Exceptions raised by oslo_server.py endpoints.

The module is importable by the peer client (it lives next to both scripts),
so a client started with ``--allowed-exmods wire_exc`` rebuilds these
failures as ``wire_exc_Remote.<Class>_Remote`` instead of ``RemoteError``
(spec 5.4, appendix A.8).
"""


class WireError(Exception):
    """An oslo/nova style exception: a message plus keyword arguments.

    ``serialize_remote_exception`` sends ``self.kwargs`` as the failure's
    ``kwargs``; the receiving side calls ``WireError(*args, **kwargs)``.
    """

    msg_fmt = "wire error"

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        super().__init__(message if message is not None else self.msg_fmt)


class PlainError(Exception):
    """A plain exception with several positional args and no kwargs."""
