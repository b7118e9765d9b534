# oslohost as benchmarked by bench/run.sh (make bench): the Python echo
# endpoint of bench/pyecho/echo_server.py (EchoEndpoint, the very class the
# "python" system serves with oslo_messaging.get_rpc_server) served as a
# Python plugin through sdk/python, with the host's pool executor (64
# workers) and the SDK's default 64 plugin workers, as a Python server's
# threading executor. run.sh sets the topic and PYTHONPATH (absolute paths);
# the default PYTHONPATH is relative to the directory oslohost runs in (the
# repository root), since the host does not resolve paths in env.
#
#   OSLOHOST_BENCH_TOPIC=b-pyecho bin/oslohost run bench/oslohost-pypool.hcl
#   bin/oslohost bench --topic b-pyecho --concurrency 8

transport {
  url              = env("OSLOHOST_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
  control_exchange = "openstack"
}

executor "bench" {
  kind    = "pool"
  workers = 64
}

plugin "pyecho" {
  command = "/usr/bin/python3"
  args    = ["-m", "oslohost_plugin", "--endpoint", "echo_server:EchoEndpoint"]
  env = {
    PYTHONPATH = env("OSLOHOST_BENCH_PYTHONPATH", "sdk/python:bench/pyecho")
  }
}

server "echo" {
  topic    = env("OSLOHOST_BENCH_TOPIC", "bench-pypool")
  server   = "bench"
  executor = "bench"
  plugins  = ["pyecho"]
}

log {
  level = "warn"
}
