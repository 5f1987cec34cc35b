package operators

// Pinned outputs of the random streams (see TestStreamsAreStable, TestShakeIsDeterministic), computed on
// linux/amd64. Changing any of them changes every existing key's E_s and requires a new key format version.
const (
	goldenSeedPrefix = "6d532dcdd4f98c4b"
	goldenShakeHash  = "5b751f5f7007ae46e8480e66f9f44766a20bc707dde1e9e2090f0268e292f4a3"
)

var goldenStream = []float64{1.4064454008565754, -0.6568260578323925, 2.590026034914964, 0.9083409559174959, 1.047907448658857}
