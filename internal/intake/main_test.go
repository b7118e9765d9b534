package intake

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/internal/rabbit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func specFor(queue string) rabbit.ConsumeSpec {
	return rabbit.ConsumeSpec{Name: queue, Queues: []string{queue}}
}
