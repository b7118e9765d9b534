# oslohost as benchmarked by bench/run.sh (make bench), tuned for a small
# machine whose cores the broker shares: as oslohost-pool.hcl, with the
# plugin at GOMAXPROCS=1 (below) and the host too (run.sh starts it with
# GOMAXPROCS=1 in its environment). See "Tuning" in BENCHMARKS.md.
#
#   GOMAXPROCS=1 OSLOHOST_BENCH_TOPIC=b-echo bin/oslohost run bench/oslohost-pool-1p.hcl
#   bin/oslohost bench --topic b-echo --concurrency 64

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
  env = {
    GOMAXPROCS = "1"
  }
}

server "echo" {
  topic    = env("OSLOHOST_BENCH_TOPIC", "bench-pool-1p")
  server   = "bench"
  executor = "bench"
  plugins  = ["echo"]
}

log {
  level = "warn"
}
