package rabbit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// qmanagerMu serializes Next within the process: POSIX locks are held by
// the process, so they do not exclude its own goroutines.
var qmanagerMu sync.Mutex

// QueueManager names fanout and reply queues as oslo.messaging 16.1.0's
// QManager does with use_queue_manager: "<hostname>:<processname>:<n>",
// where n counts up from 1 for the life of the process group. The counter
// lives in /dev/shm/<hostname>_<processname>_qmanager as
// "<pgid>:<counter>:<start time of the group leader>" and is read and
// written under the same lock file oslo.concurrency takes
// (<lock path>/oslo_read_shm_<hostname>_<processname>, a POSIX lock), so
// oslohost and Python processes sharing a hostname and processname, or
// several transports of one host, never take the same name. A restarted
// service (a new process group) starts again at 1 and so reuses its
// queues, which is the point of the option.
//
// The lock path is $OSLO_LOCK_PATH (oslo.concurrency's default for
// lock_path), else the system's temporary directory. Safe for concurrent
// use.
type QueueManager struct {
	Hostname, ProcessName string
	// Dir holds the counter file; /dev/shm when empty.
	Dir string
	// LockDir holds the lock file; $OSLO_LOCK_PATH or os.TempDir() when
	// empty.
	LockDir string
}

// Next returns the next name. It fails only when the counter file or the
// lock cannot be used.
func (m QueueManager) Next() (string, error) {
	dir := m.Dir
	if dir == "" {
		dir = "/dev/shm"
	}
	lockDir := m.LockDir
	if lockDir == "" {
		lockDir = os.Getenv("OSLO_LOCK_PATH")
	}
	if lockDir == "" {
		lockDir = os.TempDir()
	}
	// lockutils replaces the path separator in lock names.
	lockName := strings.ReplaceAll("oslo_read_shm_"+m.Hostname+"_"+m.ProcessName, string(os.PathSeparator), "_")
	qmanagerMu.Lock()
	defer qmanagerMu.Unlock()
	lock, err := os.OpenFile(filepath.Join(lockDir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", fmt.Errorf("queue manager lock: %w", err)
	}
	defer lock.Close()
	flock := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	for {
		err = syscall.FcntlFlock(lock.Fd(), syscall.F_SETLKW, &flock)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("queue manager lock: %w", err)
	}
	defer func() {
		flock.Type = syscall.F_UNLCK
		_ = syscall.FcntlFlock(lock.Fd(), syscall.F_SETLK, &flock)
	}()

	pg := syscall.Getpgrp()
	start := processStartTime(pg)
	file := filepath.Join(dir, m.Hostname+"_"+m.ProcessName+"_qmanager")
	counter := 0
	if data, err := os.ReadFile(file); err == nil {
		if fpg, fcounter, fstart, ok := parseCounter(string(data)); ok && fpg == pg && fstart == start {
			counter = fcounter
		}
	}
	counter++
	if err := os.WriteFile(file, []byte(strconv.Itoa(pg)+":"+strconv.Itoa(counter)+":"+strconv.FormatInt(start, 10)), 0o644); err != nil {
		return "", fmt.Errorf("queue manager counter: %w", err)
	}
	return m.Hostname + ":" + m.ProcessName + ":" + strconv.Itoa(counter), nil
}

// parseCounter reads "pg:counter:start_time" (the first line).
func parseCounter(s string) (pg, counter int, start int64, ok bool) {
	line, _, _ := strings.Cut(s, "\n")
	parts := strings.Split(line, ":")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	pg, err1 = strconv.Atoi(strings.TrimSpace(parts[0]))
	counter, err2 = strconv.Atoi(strings.TrimSpace(parts[1]))
	start, err3 = strconv.ParseInt(strings.TrimSpace(parts[2]), 10, 64)
	return pg, counter, start, err1 == nil && err2 == nil && err3 == nil
}

// processStartTime is field 22 of /proc/<pid>/stat (start time in clock
// ticks since boot), as QManager reads it for the process group leader;
// 0 when it cannot be read.
func processStartTime(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		fields := strings.Fields(s[i+1:])
		// fields[0] is field 3 (state); field 22 is fields[19].
		if len(fields) > 19 {
			n, _ := strconv.ParseInt(fields[19], 10, 64)
			return n
		}
	}
	return 0
}

// Namer returns the function naming the unique part of fanout and reply
// queues: the queue manager's next name with use_queue_manager, else a
// random uuid. A queue manager error falls back to a random name (logged
// by the caller through onError when not nil), so a server still starts.
func (o Options) Namer(onError func(error)) func() string {
	if !o.UseQueueManager {
		return RandomName
	}
	m := QueueManager{Hostname: o.Hostname, ProcessName: o.ProcessName}
	return func() string {
		name, err := m.Next()
		if err != nil {
			if onError != nil {
				onError(err)
			}
			return RandomName()
		}
		return name
	}
}
