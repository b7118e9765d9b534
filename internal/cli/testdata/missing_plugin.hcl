transport {
  url = "rabbit://guest:guest@127.0.0.1:5672/"
}

plugin "ghost" {
  command = "./no-such-plugin"
}

server "ghost" {
  topic   = "cli-validate-ghost"
  plugins = ["ghost"]
}
