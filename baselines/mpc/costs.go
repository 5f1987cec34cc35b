package mpc

import (
	"fmt"
	"maps"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Counters are the measured costs of one part of a session (online or offline).
type Counters struct {
	// WallSeconds is the elapsed time of the part's steps, seen by the engine (loopback network included).
	WallSeconds float64
	// ClientSeconds, CloudSeconds and DealerSeconds are each party's busy time: its steps' wall time minus the
	// time it blocked reading from a connection.
	ClientSeconds, CloudSeconds, DealerSeconds float64
	// BytesToCloud and BytesToClient are the bytes the client and the cloud wrote to each other, framing
	// included.
	BytesToCloud, BytesToClient int64
	// DealerBytesToClient and DealerBytesToCloud are the bytes the dealer wrote to each party.
	DealerBytesToClient, DealerBytesToCloud int64
	// Rounds is the number of message latencies on the critical path. Online: every message carries its
	// sender's depth and lifts the receiver to at least depth+1, and Rounds is the growth of the larger party
	// depth, so an exchange where both parties send and then wait is one round, a one-way message (Reveal) one
	// round, and operations are counted as a party would run them, each starting as soon as its own inputs are
	// there (so a reveal that overlaps a party's lead costs nothing, and one operation's count can differ by one
	// with what ran before it). Offline: one per dealer message (dealt per operation here; one message in all if
	// dealt ahead of time).
	Rounds int64
}

// Bytes is the total traffic of the part, all directions.
func (c Counters) Bytes() int64 {
	return c.BytesToCloud + c.BytesToClient + c.DealerBytesToClient + c.DealerBytesToCloud
}

func (c Counters) sub(o Counters) Counters {
	return Counters{
		WallSeconds:         c.WallSeconds - o.WallSeconds,
		ClientSeconds:       c.ClientSeconds - o.ClientSeconds,
		CloudSeconds:        c.CloudSeconds - o.CloudSeconds,
		DealerSeconds:       c.DealerSeconds - o.DealerSeconds,
		BytesToCloud:        c.BytesToCloud - o.BytesToCloud,
		BytesToClient:       c.BytesToClient - o.BytesToClient,
		DealerBytesToClient: c.DealerBytesToClient - o.DealerBytesToClient,
		DealerBytesToCloud:  c.DealerBytesToCloud - o.DealerBytesToCloud,
		Rounds:              c.Rounds - o.Rounds,
	}
}

// Scaled multiplies every counter by k: the extrapolation of a measured sample to k times as many identical
// units (bytes and rounds depend only on shapes, so they scale exactly; seconds scale in expectation).
func (c Counters) Scaled(k float64) Counters {
	return Counters{
		WallSeconds:         c.WallSeconds * k,
		ClientSeconds:       c.ClientSeconds * k,
		CloudSeconds:        c.CloudSeconds * k,
		DealerSeconds:       c.DealerSeconds * k,
		BytesToCloud:        int64(float64(c.BytesToCloud) * k),
		BytesToClient:       int64(float64(c.BytesToClient) * k),
		DealerBytesToClient: int64(float64(c.DealerBytesToClient) * k),
		DealerBytesToCloud:  int64(float64(c.DealerBytesToCloud) * k),
		Rounds:              int64(float64(c.Rounds) * k),
	}
}

// Cost is the counters as a phase's cost record. Offline, the dealer's bytes to the cloud and to the client are
// booked as BytesToCloud and BytesToClient (with the set-up's client→cloud seed), as the note says.
func (c Counters) Cost(phase string, units int, unitName string) method.Cost {
	cost := method.Cost{
		Phase:         phase,
		ClientSeconds: c.ClientSeconds,
		CloudSeconds:  c.CloudSeconds,
		DealerSeconds: c.DealerSeconds,
		BytesToCloud:  c.BytesToCloud + c.DealerBytesToCloud,
		BytesToClient: c.BytesToClient + c.DealerBytesToClient,
		Rounds:        c.Rounds,
		Units:         units,
		UnitName:      unitName,
	}
	if c.DealerBytesToClient+c.DealerBytesToCloud > 0 {
		cost.Note = fmt.Sprintf("includes dealer→cloud %d B, dealer→client %d B", c.DealerBytesToCloud, c.DealerBytesToClient)
	}
	return cost
}

// Stats are a session's counters: the online protocol, the offline phase (dealer, set-up) and the number of
// calls of each operation (for extrapolation by operation counts).
type Stats struct {
	Online, Offline Counters
	Ops             map[string]int64
}

func (s Stats) clone() Stats {
	s.Ops = maps.Clone(s.Ops)
	return s
}

// Sub returns the costs incurred between an earlier snapshot prev and s.
func (s Stats) Sub(prev Stats) Stats {
	out := Stats{Online: s.Online.sub(prev.Online), Offline: s.Offline.sub(prev.Offline), Ops: map[string]int64{}}
	for op, n := range s.Ops {
		if d := n - prev.Ops[op]; d != 0 {
			out.Ops[op] = d
		}
	}
	return out
}

// Network is a network the measured traffic is projected onto.
type Network struct {
	Name                 string
	BandwidthBytesPerSec float64 // 0: infinite (the loopback as measured)
	LatencySec           float64 // one-way latency, paid once per round
}

// Loopback is the measured loopback network: estimates equal the measured wall time.
func Loopback() Network { return Network{Name: "loopback"} }

// LAN is a 1 Gbit/s, 0.2 ms network.
func LAN() Network { return Network{Name: "lan", BandwidthBytesPerSec: 1e9 / 8, LatencySec: 0.2e-3} }

// WAN is a 100 Mbit/s, 40 ms network.
func WAN() Network { return Network{Name: "wan", BandwidthBytesPerSec: 100e6 / 8, LatencySec: 40e-3} }

// Networks lists the presets, loopback first.
func Networks() []Network { return []Network{Loopback(), LAN(), WAN()} }

// Estimate projects counters onto the network: compute + bytes/bandwidth + rounds·latency, where compute is the
// wall time measured on loopback (which already holds the loopback's own small transfer time, so the estimate
// errs high) and bytes are all directions together (one shared link: another upper bound; a full-duplex link
// carries the two directions of an exchange at once).
func (n Network) Estimate(c Counters) float64 {
	t := c.WallSeconds
	if n.BandwidthBytesPerSec > 0 {
		t += float64(c.Bytes()) / n.BandwidthBytesPerSec
	}
	return t + float64(c.Rounds)*n.LatencySec
}
