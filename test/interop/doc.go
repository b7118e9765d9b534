// Package interop holds the tests that prove oslohost's wire behaviour
// against the real Python oslo.messaging over a real RabbitMQ: a Python
// client calling Go servers, and the Go client calling Python servers.
package interop
