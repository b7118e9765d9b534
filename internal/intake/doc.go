// Package intake is the one consume path of the RPC server and the
// notification listener: it takes deliveries from a Source (the broker's
// consumer, or Memory in tests), checks each one (size limit,
// decompression, content type), decodes it into an oslo message with the
// caller's decoder, drops duplicates with the duplicate window, and hands
// the message with its ack handle to an executor under one of two ack
// policies:
//
//   - AckOnReceipt (the RPC server, as oslo): the executor's task acks the
//     delivery first, then records its _unique_id, then runs the handler.
//     A failed ack discards the message unrecorded (the broker gives it to
//     the next session, which must not take it for a duplicate).
//     Shutdown stops the consumer first (deliveries not yet taken go back
//     to their queue), then waits for the running handlers.
//   - AckAfterHandling (the listener): the handler returns a Verdict; the
//     intake acks (Handled, Dropped) and records the _unique_id, or
//     rejects with requeue (Requeued). Shutdown keeps the channel open
//     while the running handlers finish, so their acks reach the broker;
//     deliveries that arrive meanwhile are held and given back once the
//     consumer stops (a nack at once would bring them straight back).
//
// Deliveries refused on the way (too large, bad compression, wrong content
// type, malformed, unsupported envelope) are rejected without requeue and
// reported to Config.Refused, which logs them and, for a server, answers
// the caller. A duplicate is acked and logged without reaching the
// handler.
//
// The decoders are oslo's (oslo.DecodeRequest, oslo.DecodeNotification):
// one scanner, no maps. The intake allocates one Msg and one executor task
// per delivery, what the server and the listener did before it.
package intake
