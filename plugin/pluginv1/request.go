package pluginv1

import "time"

// Deadline returns the call's deadline, and false when it has none.
func (x *InvokeRequest) Deadline() (time.Time, bool) {
	n := x.GetDeadlineUnixNano()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// SetDeadline sets the call's deadline; the zero time clears it.
func (x *InvokeRequest) SetDeadline(t time.Time) {
	if t.IsZero() {
		x.DeadlineUnixNano = 0
		return
	}
	x.DeadlineUnixNano = t.UnixNano()
}

// Deadline returns the deadline for handling the notifications, and false
// when there is none.
func (x *NotifyRequest) Deadline() (time.Time, bool) {
	n := x.GetDeadlineUnixNano()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// SetDeadline sets the deadline for handling the notifications; the zero
// time clears it.
func (x *NotifyRequest) SetDeadline(t time.Time) {
	if t.IsZero() {
		x.DeadlineUnixNano = 0
		return
	}
	x.DeadlineUnixNano = t.UnixNano()
}

// Deadline returns the host's deadline for the call a frame starts, and
// false when it has none. The call ends at the earlier of this and its
// request's own deadline ([InvokeRequest.Deadline], [NotifyRequest.Deadline]).
func (x *CallFrame) Deadline() (time.Time, bool) {
	n := x.GetDeadlineUnixNano()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}
