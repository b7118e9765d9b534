# oslohost as benchmarked by bench/run.sh (make bench): the echo plugin served
# with a pool of 64 workers, as a Python server's threading executor.
# run.sh sets the topic and the plugin path; relative paths are resolved from
# this file's directory.
#
#   OSLOHOST_BENCH_TOPIC=b-echo bin/oslohost run bench/oslohost-pool.hcl
#   bin/oslohost bench --topic b-echo --concurrency 8

transport {
  url              = env("OSLOHOST_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
  control_exchange = "openstack"
}

executor "bench" {
  kind    = "pool"
  workers = 64
}

plugin "echo" {
  command = env("OSLOHOST_BENCH_ECHO", "../bin/plugins/echo")
}

server "echo" {
  topic    = env("OSLOHOST_BENCH_TOPIC", "bench-pool")
  server   = "bench"
  executor = "bench"
  plugins  = ["echo"]
}

log {
  level = "warn"
}
