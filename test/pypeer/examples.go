package pypeer

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/oslohost/oslohost/internal/rabbit"
)

// ExamplesNeedBroker is for the TestMain of a package whose Examples run
// against the broker at URL: it skips them (with -test.skip) under -short,
// and when no broker answers, unless CI=true (then they run, and fail).
// It parses the test flags.
func ExamplesNeedBroker() {
	flag.Parse()
	why := ""
	switch {
	case testingShort():
		why = "-short"
	case os.Getenv("CI") != "true" && !brokerAnswers():
		why = "no broker at " + URL()
	}
	if why == "" {
		return
	}
	if err := flag.Set("test.skip", "^Example"); err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stderr, "skipping the Examples: %s\n", why)
}

func testingShort() bool {
	f := flag.Lookup("test.short")
	return f != nil && f.Value.String() == "true"
}

func brokerAnswers() bool {
	u, err := rabbit.ParseURL(URL())
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "examples-probe"})
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// DeleteQueues deletes the named queues on the broker at URL (what an
// Example leaves behind), ignoring errors.
func DeleteQueues(names ...string) {
	u, err := rabbit.ParseURL(URL())
	if err != nil || len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "examples-cleanup"})
	if err != nil {
		return
	}
	defer conn.Close()
	ch, _, err := conn.Channel(ctx)
	if err != nil {
		return
	}
	defer ch.Close()
	for _, n := range names {
		_, _ = ch.QueueDelete(n, false, false, false)
	}
}
