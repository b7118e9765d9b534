# oslohost as benchmarked by bench/run.sh (make bench): the echo plugin served
# with the blocking executor: one call at a time, in arrival order.
# run.sh sets the topic and the plugin path; relative paths are resolved from
# this file's directory.
#
#   OSLOHOST_BENCH_TOPIC=b-echo bin/oslohost run bench/oslohost-blocking.hcl
#   bin/oslohost bench --topic b-echo --concurrency 8

transport {
  url              = env("OSLOHOST_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
  control_exchange = "openstack"
}

executor "bench" {
  kind = "blocking"
}

plugin "echo" {
  command = env("OSLOHOST_BENCH_ECHO", "../bin/plugins/echo")
}

server "echo" {
  topic    = env("OSLOHOST_BENCH_TOPIC", "bench-blocking")
  server   = "bench"
  executor = "bench"
  plugins  = ["echo"]
}

log {
  level = "warn"
}
