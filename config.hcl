# The sample configuration `make run` serves: the example plugins of
# plugins/examples, built by `make build` into bin/plugins/. Relative paths are
# resolved from this file's directory.
#
# Try it from another shell, or from any Python oslo.messaging client:
#   oslohost call --topic hello hello name=oslo
#   oslohost call --topic calc add increment=2
#   oslohost call --topic calc --namespace calc_admin --version 2.1 get_state

transport {
  # oslo transport_url syntax; set OSLOHOST_TRANSPORT_URL to use another broker.
  url              = env("OSLOHOST_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
  control_exchange = "openstack"
}

# A pool runs up to 64 calls at once, as a Python server's threading executor.
executor "default" {
  kind    = "pool"
  workers = 64
}

# One message at a time, in arrival order: for endpoints that are not safe for
# concurrent use. None of the examples needs it.
executor "serial" {
  kind = "blocking"
}

plugin "hello" {
  command = "./bin/plugins/hello"
}

plugin "echo" {
  command = "./bin/plugins/echo"
}

plugin "calc" {
  command = "./bin/plugins/calc"
  config  = { start = 0 } # decoded by the plugin into its own Config struct
}

# Each server consumes topic, topic.server and the topic's fanout exchange.
# server = "local" (rather than the hostname) lets examples name it:
#   oslohost call --topic calc --server local …
server "hello" {
  topic   = "hello"
  server  = "local"
  plugins = ["hello"]
}

server "echo" {
  topic   = "echo"
  server  = "local"
  plugins = ["echo"]
}

# calc has state, but guards it with a mutex, so it runs on the pool: a
# long_running_task must not hold up add, as in oslo's functional tests.
server "calc" {
  topic    = "calc"
  server   = "local"
  executor = "default"
  plugins  = ["calc"]
}

# The audit plugin records the notifications its listener hands it and
# reports them over RPC:
#   oslohost notify --topic notifications --event-type compute.instance.create.end --payload '{"id": 1}'
#   oslohost call --topic audit --namespace audit --version 1.0 list
plugin "audit" {
  command = "./bin/plugins/audit"
}

server "audit" {
  topic   = "audit"
  server  = "local"
  plugins = ["audit"]
}

# A notification listener: every priority of topic "notifications" on the
# control exchange, in its own pool (queue "audit-notifications") so it does
# not take notifications from other consumers of notifications.<priority>.
# A pool is a queue name: it must not be a server's topic ("audit" is the
# queue of server "audit" above), or the two would take each other's messages
# (`oslohost plan config.hcl` lists every queue and refuses such a clash).
listener "audit" {
  topics  = ["notifications"]
  pool    = "audit-notifications"
  plugins = ["audit"]
}

# The admin API: /healthz /readyz /metrics /v1/status, POST /v1/reload.
admin {
  listen = "127.0.0.1:9464"
}

log {
  level = "info"
}

# Tracing: OpenTelemetry spans over OTLP, continuing osprofiler traces of
# Python callers (trace_info). Off without the block.
# telemetry {
#   otlp_endpoint        = "127.0.0.1:4317"
#   insecure             = true
#   osprofiler_hmac_keys = ["SECRET_KEY"]
# }
