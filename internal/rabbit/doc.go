// Package rabbit is the amqp091-go driver for the oslo.messaging RabbitMQ
// wire protocol: transport URL, topology, reconnecting connection,
// consumers, confirmed publishing and the reply waiter.
package rabbit
