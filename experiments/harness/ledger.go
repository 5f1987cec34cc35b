package harness

import (
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Ledger records the cost of each phase by party. It is not safe for concurrent use: phases run in order.
type Ledger struct {
	costs []method.Cost
	index map[string]int
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{index: map[string]int{}} }

func (l *Ledger) entry(phase string) *method.Cost {
	i, ok := l.index[phase]
	if !ok {
		i = len(l.costs)
		l.index[phase] = i
		l.costs = append(l.costs, method.Cost{Phase: phase})
	}
	return &l.costs[i]
}

// Time runs fn and books its wall time to party in phase.
func (l *Ledger) Time(phase, party string, fn func() error) error {
	start := time.Now()
	err := fn()
	l.AddSeconds(phase, party, time.Since(start).Seconds())
	return err
}

// AddSeconds books seconds to party in phase.
func (l *Ledger) AddSeconds(phase, party string, s float64) {
	c := l.entry(phase)
	switch party {
	case method.Client:
		c.ClientSeconds += s
	case method.Cloud:
		c.CloudSeconds += s
	default:
		c.DealerSeconds += s
	}
}

// Send books n bytes sent by party from in phase (client → cloud or cloud → client).
func (l *Ledger) Send(phase, from string, n int64) {
	c := l.entry(phase)
	if from == method.Client {
		c.BytesToCloud += n
	} else {
		c.BytesToClient += n
	}
}

// Units sets how many units (examples, steps) the phase covered.
func (l *Ledger) Units(phase string, n int, name string) {
	c := l.entry(phase)
	c.Units, c.UnitName = n, name
}

// Note appends a note to the phase.
func (l *Ledger) Note(phase, note string) {
	c := l.entry(phase)
	if c.Note != "" {
		c.Note += "; "
	}
	c.Note += note
}

// Costs returns the recorded phases in the order they were first booked.
func (l *Ledger) Costs() []method.Cost { return append([]method.Cost(nil), l.costs...) }
