// Package e2e tests oslohost as users run it: the real `oslohost` binary
// and real plugin binaries, a real RabbitMQ, and the real Python
// oslo.messaging client calling through them.
package e2e
