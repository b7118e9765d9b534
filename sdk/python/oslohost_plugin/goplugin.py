"""The go-plugin side of a plugin process, for a non-Go plugin.

hashicorp/go-plugin starts the plugin with a few environment variables and
reads one handshake line from its stdout:

    CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|grpc|SERVER-CERT

then dials ADDRESS over gRPC and uses four services besides the plugin's own:

* grpc.health.v1.Health: Check(service="plugin") must answer SERVING;
* plugin.GRPCController: Shutdown asks the process to exit gracefully;
* plugin.GRPCStdio: StreamStdio carries what the process prints (Python's
  sys.stdout and sys.stderr once serving) to the host's log;
* plugin.GRPCBroker: StartStream is how the host announces the extra
  listeners it serves to the plugin (ConnInfo: id, network, address); the
  plugin dials one by id (oslohost's Host service).

The listener is a unix socket in a fresh directory of its own (under
PLUGIN_UNIX_SOCKET_DIR when the host sets it), so two generations of the
same plugin run side by side during a swap. With AutoMTLS (the host sets
PLUGIN_CLIENT_CERT) the server gets a fresh self-signed certificate, sends it
in the handshake, and requires the host's certificate; broker connections
use the same pair.
"""

import base64
import datetime
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
from concurrent import futures

import grpc

from ._pb import grpc_broker_pb2_grpc
from ._pb import grpc_controller_pb2
from ._pb import grpc_controller_pb2_grpc
from ._pb import grpc_stdio_pb2
from ._pb import grpc_stdio_pb2_grpc
from ._pb import health_pb2
from ._pb import health_pb2_grpc

CORE_PROTOCOL_VERSION = 1

# What go-plugin's Go servers print when started by hand.
_NOT_BY_HAND = ("This binary is a plugin. These are not meant to be executed "
                "directly.\nPlease execute the program that consumes these "
                "plugins, which will\nload any plugins automatically\n")


class HandshakeError(Exception):
    """The process was not started by a host speaking our protocol."""


def negotiate(magic_key, magic_value, app_versions):
    """Checks the magic cookie and picks the protocol version.

    Returns the highest of app_versions that the host offers in
    PLUGIN_PROTOCOL_VERSIONS; raises HandshakeError otherwise.
    """
    if os.environ.get(magic_key) != magic_value:
        raise HandshakeError(_NOT_BY_HAND)
    offered = set()
    for v in os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "").split(","):
        v = v.strip()
        if v.isdigit():
            offered.add(int(v))
    common = offered & set(app_versions)
    if not common:
        raise HandshakeError(
            "oslohost plugin protocol mismatch: the host speaks version %s, "
            "this plugin (oslohost_plugin SDK) speaks %s: run the plugin "
            "with the oslohost_plugin SDK of the host's release"
            % (", ".join(str(v) for v in sorted(offered)) or "none",
               ", ".join(str(v) for v in sorted(app_versions))))
    return max(common)


class _Health(health_pb2_grpc.HealthServicer):
    """go-plugin checks the service "plugin"; "" is the whole server."""

    def Check(self, request, context):
        if request.service not in ("", "plugin"):
            context.abort(grpc.StatusCode.NOT_FOUND,
                          "unknown service %r" % request.service)
        return health_pb2.HealthCheckResponse(
            status=health_pb2.HealthCheckResponse.SERVING)


class _Controller(grpc_controller_pb2_grpc.GRPCControllerServicer):
    def __init__(self, shutdown):
        self._shutdown = shutdown

    def Shutdown(self, request, context):
        # Answer first: the host waits for the reply, then for the exit.
        threading.Thread(target=self._shutdown, name="shutdown",
                         daemon=True).start()
        return grpc_controller_pb2.Empty()


class _StdioStream(object):
    """A text stream whose lines go to the host over GRPCStdio.

    The host logs each message it receives as one line, so writes are
    buffered up to a newline (print() writes its parts separately); flush()
    sends an incomplete line as it is.
    """

    def __init__(self, stdio, channel, fallback):
        self._stdio = stdio
        self._channel = channel
        self._fallback = fallback
        self._lock = threading.Lock()
        self._buf = ""
        self.encoding = "utf-8"
        self.errors = "replace"

    def write(self, s):
        with self._lock:
            self._buf += s
            head, nl, rest = self._buf.rpartition("\n")
            if nl:
                self._buf = rest
                self._stdio.put(self._channel,
                                (head + nl).encode("utf-8", "replace"))
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        with self._lock:
            if self._buf:
                self._stdio.put(self._channel,
                                self._buf.encode("utf-8", "replace"))
                self._buf = ""

    def isatty(self):
        return False

    def fileno(self):
        return self._fallback.fileno()

    @property
    def buffer(self):
        return self._fallback.buffer


class _Stdio(grpc_stdio_pb2_grpc.GRPCStdioServicer):
    """Queues what the plugin prints until the host streams it."""

    _MAX_QUEUED = 10000  # writes kept while no host listens; then dropped

    def __init__(self):
        self._q = queue.Queue(self._MAX_QUEUED)
        self._closed = threading.Event()

    def put(self, channel, data):
        try:
            self._q.put_nowait((channel, data))
        except queue.Full:
            pass

    def close(self):
        self._closed.set()
        self.put(None, b"")

    def StreamStdio(self, request, context):
        while not self._closed.is_set() and context.is_active():
            try:
                channel, data = self._q.get(timeout=1)
            except queue.Empty:
                continue
            if channel is None:
                return
            yield grpc_stdio_pb2.StdioData(channel=channel, data=data)


class Broker(grpc_broker_pb2_grpc.GRPCBrokerServicer):
    """The plugin side of go-plugin's GRPCBroker, without multiplexing.

    The host sends one ConnInfo per listener it serves to the plugin; dial()
    waits (bounded) for the one with the wanted id and connects to it.
    """

    def __init__(self, channel_credentials=None):
        self._cond = threading.Condition()
        self._conns = {}
        self._creds = channel_credentials

    def StartStream(self, request_iterator, context):
        for info in request_iterator:
            with self._cond:
                self._conns[info.service_id] = info
                self._cond.notify_all()
        return
        yield  # a generator: the plugin never announces listeners itself

    def dial(self, service_id, options=(), timeout=5.0):
        """Returns a grpc.Channel to the host's listener service_id."""
        with self._cond:
            if not self._cond.wait_for(lambda: service_id in self._conns,
                                       timeout):
                raise TimeoutError(
                    "timeout waiting for connection info of broker id %d"
                    % service_id)
            info = self._conns[service_id]
        if info.network == "unix":
            target = "unix:" + info.address
        elif info.network == "tcp":
            target = info.address
        else:
            raise ValueError("unknown address type %r of broker id %d"
                             % (info.network, service_id))
        if self._creds is None:
            return grpc.insecure_channel(target, options=list(options))
        opts = list(options) + [("grpc.ssl_target_name_override",
                                 "localhost")]
        return grpc.secure_channel(target, self._creds, options=opts)


def _auto_mtls(client_cert_pem):
    """Server and broker credentials for go-plugin's AutoMTLS.

    Returns (server_credentials, channel_credentials, handshake_cert): a
    fresh self-signed P-256 certificate for "localhost", like go-plugin's
    generateCert, trusting only the host's certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                       critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=True, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([
            x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    host_pem = client_cert_pem.encode()
    server_creds = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=host_pem,
        require_client_auth=True)
    channel_creds = grpc.ssl_channel_credentials(
        root_certificates=host_pem, private_key=key_pem,
        certificate_chain=cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    handshake_cert = base64.b64encode(der).decode().rstrip("=")
    return server_creds, channel_creds, handshake_cert


class PluginServer(object):
    """A gRPC server speaking go-plugin's protocol on a unix socket.

    register(server, broker) adds the plugin's own services. serve() prints
    the handshake line and blocks until the host asks the process to stop
    (GRPCController.Shutdown, SIGTERM, or the host going away).
    """

    def __init__(self, app_version, register, max_workers=64,
                 max_message_size=64 << 20, on_stop=None):
        self._app_version = app_version
        self._register = register
        self._max_workers = max_workers
        self._max_message_size = max_message_size
        self._on_stop = on_stop
        self._stopped = threading.Event()
        self._dir = None
        self.stdio = _Stdio()
        self.broker = None

    def _listen_dir(self):
        base = os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or None
        return tempfile.mkdtemp(prefix="oslohost-py-plugin-", dir=base)

    def serve(self):
        size = self._max_message_size
        options = [
            ("grpc.max_send_message_length", size),
            ("grpc.max_receive_message_length", size),
        ]
        client_cert = os.environ.get("PLUGIN_CLIENT_CERT", "")
        server_creds = channel_creds = None
        handshake_cert = ""
        if client_cert:
            server_creds, channel_creds, handshake_cert = _auto_mtls(
                client_cert)
        self.broker = Broker(channel_creds)
        # Long-lived streams (broker, stdio, Calls) each hold a
        # worker for their lifetime, on top of the concurrent calls.
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers + 8,
                                       thread_name_prefix="grpc"),
            options=options)
        health_pb2_grpc.add_HealthServicer_to_server(_Health(), server)
        grpc_controller_pb2_grpc.add_GRPCControllerServicer_to_server(
            _Controller(self.stop), server)
        grpc_stdio_pb2_grpc.add_GRPCStdioServicer_to_server(self.stdio,
                                                            server)
        grpc_broker_pb2_grpc.add_GRPCBrokerServicer_to_server(self.broker,
                                                              server)
        self._register(server, self)

        self._dir = self._listen_dir()
        path = os.path.join(self._dir, "plugin.sock")
        address = "unix:" + path
        if server_creds is None:
            server.add_insecure_port(address)
        else:
            server.add_secure_port(address, server_creds)
        server.start()
        group = os.environ.get("PLUGIN_UNIX_SOCKET_GROUP")
        if group:
            shutil.chown(path, group=group)
            os.chmod(path, 0o660)
        self._server = server

        # go-plugin ignores interrupts in plugins (the host handles ^C);
        # SIGTERM stops the process gracefully.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: self.stop())

        line = "%d|%d|unix|%s|grpc|%s\n" % (
            CORE_PROTOCOL_VERSION, self._app_version, path, handshake_cert)
        out = sys.stdout
        out.write(line)
        out.flush()
        # From now on what the plugin prints goes to the host over
        # GRPCStdio; the process's real stderr stays for log lines.
        sys.stdout = _StdioStream(self.stdio, grpc_stdio_pb2.StdioData.STDOUT,
                                  sys.__stdout__)
        sys.stderr = _StdioStream(self.stdio, grpc_stdio_pb2.StdioData.STDERR,
                                  sys.__stderr__)
        threading.Thread(target=self._watch_parent, name="parent-watch",
                         daemon=True).start()
        self._stopped.wait()
        self._exit()

    def _watch_parent(self):
        # A plugin must not outlive its host (the host also sets a parent
        # death signal on Linux): poll for re-parenting.
        parent = os.getppid()
        while not self._stopped.wait(1.0):
            if os.getppid() != parent:
                self.stop()

    def stop(self):
        """Asks serve() to end the process."""
        self._stopped.set()

    def _exit(self):
        try:
            if self._on_stop is not None:
                self._on_stop()
        finally:
            self.stdio.close()
            # The host stops a plugin only once its calls are done (drained
            # or given up); what is left are the long-lived streams. Like
            # go-plugin's Go servers, stop at once (the host waits 2 s for
            # the exit before it kills), leaving the Shutdown reply a
            # moment to go out.
            self._server.stop(grace=0.1).wait(1)
            if self._dir:
                shutil.rmtree(self._dir, ignore_errors=True)
            sys.__stdout__.flush()
            sys.__stderr__.flush()
            # Endpoint threads must not keep the process alive.
            os._exit(0)
