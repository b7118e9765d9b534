package listener

import "time"

// BatchConfig turns on batch delivery (get_batch_notification_listener):
// notifications are collected until Size are there or Timeout has passed
// since the first of them arrived, then handed to the BatchHandler as one
// batch. Timeout 0 waits for Size (or shutdown).
type BatchConfig struct {
	Size    int
	Timeout time.Duration
}
