# calc.py served by oslohost as a Python plugin. Run from the repository root:
#
#   bin/oslohost run plugins/examples/python-calc/plugin.hcl
#   bin/oslohost call --topic pycalc add increment=2
#
# Paths in env are not resolved by the host: they are relative to the
# directory oslohost runs in. The plugin's environment is exactly `env`
# (the host's own is not passed on), so PYTHONPATH must name both the SDK
# (sdk/python) and the directory of calc.py.

transport {
  url = "rabbit://guest:guest@127.0.0.1:5672/"
}

# For `bin/oslohost reload pycalc` (a hot swap after editing calc.py) and
# `bin/oslohost status`.
admin {
  listen = "127.0.0.1:9464"
}

plugin "pycalc" {
  command = "/usr/bin/python3"
  args    = ["-m", "oslohost_plugin", "--endpoint", "calc:endpoints"]
  env = {
    PYTHONPATH = "sdk/python:plugins/examples/python-calc"
  }
  config = { start = 0 }
}

server "pycalc" {
  topic   = "pycalc"
  server  = "local"
  plugins = ["pycalc"]
}
