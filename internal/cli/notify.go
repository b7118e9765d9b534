package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
)

type notifyFlags struct {
	brokerFlags
	topics      []string
	eventType   string
	priority    string
	publisherID string
	payload     string
	context     []string
	driver      string
	retry       int
}

func (f *notifyFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&f.topics, "topic", []string{client.DefaultNotificationTopic}, "notification topic (repeatable: one copy per topic)")
	fs.StringVar(&f.eventType, "event-type", "", "event type, e.g. compute.instance.create.end (required)")
	fs.StringVar(&f.priority, "priority", oslo.PriorityInfo, "priority: "+strings.Join(oslo.Priorities(), ", "))
	fs.StringVar(&f.publisherID, "publisher-id", "", `publisher ID (default "oslohost.<host name>")`)
	fs.StringVar(&f.payload, "payload", "{}", "payload: JSON, or else sent as a plain string")
	fs.StringArrayVar(&f.context, "context", nil, "request context entry key=value (repeatable; only oslo's whitelisted keys are sent)")
	fs.StringVar(&f.driver, "driver", client.DriverMessagingV2, "notification driver: messagingv2, messaging (format 1.0) or noop")
	fs.IntVar(&f.retry, "retry", -1, "retries after a connection failure (-1: until --connect-timeout)")
}

func newNotifyCommand() *cobra.Command {
	var f notifyFlags
	cmd := &cobra.Command{
		Use:   "notify --event-type TYPE [flags]",
		Short: "Send an oslo.messaging notification",
		Long: `Notify sends one notification as an OpenStack service's oslo.messaging Notifier
does: to the control exchange with routing key <topic>.<priority>, after
declaring the queue of that name so that it waits there until a listener
comes. It prints nothing and exits with status 0 once the broker confirmed
the message.

--payload is sent as JSON when it is valid JSON, else as a plain string.
--context entries are parsed like call's: valid JSON as JSON, anything else as
a string; as in oslo.messaging 14.0.3, keys outside oslo's whitelist (such as
auth_token) are not sent.`,
		Example: `  oslohost notify --event-type compute.instance.create.end --payload '{"instance_id": "i-1"}'
  oslohost notify --topic versioned_notifications --priority error --event-type volume.attach.error \
      --publisher-id volume.host1 --context user_id=alice --context request_id=req-1`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd) }),
	}
	fs := cmd.Flags()
	f.register(fs)
	return f.brokerFlags.finish(cmd, "event-type")
}

func (f *notifyFlags) run(cmd *cobra.Command) error {
	if f.eventType == "" {
		return usageErrorf("empty --event-type")
	}
	priority, ok := oslo.NormalizePriority(f.priority)
	if !ok {
		return usageErrorf("invalid --priority %q: want one of %s", f.priority, strings.Join(oslo.Priorities(), ", "))
	}
	for _, t := range f.topics {
		if t == "" {
			return usageErrorf("empty --topic")
		}
	}
	switch f.driver {
	case client.DriverMessagingV2, client.DriverMessaging, client.DriverNoop:
	default:
		return usageErrorf("invalid --driver %q: want messagingv2, messaging or noop", f.driver)
	}
	reqCtx, err := parseKeyValues(f.context, "--context")
	if err != nil {
		return usageErrorf("%v", err)
	}
	publisher := f.publisherID
	if publisher == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("host name for the default --publisher-id: %w", err)
		}
		publisher = "oslohost." + host
	}
	if err := f.check(); err != nil {
		return err
	}
	ctx, t, done, err := f.connect(cmd)
	if err != nil {
		return err
	}
	defer done()
	n, err := client.NewNotifier(t, publisher,
		client.Topics(f.topics...), client.Driver(f.driver), client.NotifierRetry(f.retry))
	if err != nil {
		return usageErrorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.connectTimeout)
	defer cancel()
	if err := n.Notify(ctx, reqCtx, priority, f.eventType, jsonValue(f.payload)); err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("timed out: %w", err)
		case errors.Is(err, context.Canceled):
			return errors.New("interrupted")
		}
		return err
	}
	return nil
}
