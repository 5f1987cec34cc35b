package cryptorun

import (
	"github.com/cyphertalk/cyphertalk-go/baselines/mpc"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Traffic is a measured figure to project onto a network: its wall seconds with the transfers as measured
// (loopback TCP, or in-process serialisation), the bytes sent in all directions and the one-way message
// latencies on its critical path.
type Traffic struct {
	Seconds   float64
	Bytes     int64
	Latencies int64
}

// Project returns the figure's seconds on each network of mpc.Networks ("loopback" as measured; "lan" and
// "wan" add bytes / bandwidth and latencies × one-way latency: see mpc.Network.Estimate).
func Project(t Traffic) map[string]float64 {
	c := mpc.Counters{WallSeconds: t.Seconds, BytesToCloud: t.Bytes, Rounds: t.Latencies}
	out := map[string]float64{}
	for _, n := range mpc.Networks() {
		out[n.Name] = n.Estimate(c)
	}
	return out
}

// RecordNetworks sets res.Extra[key] to the loopback figure divided by per, and key_lan and key_wan to the LAN
// and WAN estimates divided by per.
func RecordNetworks(res *method.Result, key string, t Traffic, per float64) {
	for name, s := range Project(t) {
		k := key
		if name != mpc.Loopback().Name {
			k += "_" + name
		}
		res.Extra[k] = s / per
	}
}
