transport {
  url = "rabbit://guest:guest@127.0.0.1:5672/"
  control_exchange = = "openstack"
}
