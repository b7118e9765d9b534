// Package reliability tests oslohost's promises under faults and hostile
// input (issue 7): the broker closing connections, a TCP path that stalls
// or is cut (test/faultproxy), a full restart of a private RabbitMQ node,
// failover between the hosts of a transport URL, plugins that crash, hang
// or are swapped during a reconnect, floods of malformed and unknown-method
// messages, TLS to the broker, secrets kept out of logs and status, and the
// plugin environment. It runs against the real broker and, where the
// promise is the host's, the real oslohost binary and plugin binaries.
//
// Every test logs its figures on lines starting with "result:"; the
// figures in RELIABILITY.md come from `go test -v ./test/reliability/`.
// The soak test runs only with -tags soak (make soak).
package reliability
