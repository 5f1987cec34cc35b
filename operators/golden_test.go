package operators

// Pinned outputs of the random streams (see TestStreamsAreStable, TestShakeIsDeterministic), computed on
// linux/amd64 (and checked there with GOAMD64=v3, whose FMA instructions must not change them, and with
// -tags purego, software AES). Changing any of them changes every existing key's E_s and requires a new
// PRNGName.
const (
	goldenSeedPrefix = "6d532dcdd4f98c4b"
	goldenShakeHash  = "581afa7d9b20ffd9c852495ef71502066ebd460c6e99c3f76617419cad0f7f06"
)

var (
	// goldenStream are ChaCha8 draws (table-wide operators, π): two normals, a uniform on [-1, 2) and one
	// on [0, 1).
	goldenStream = []float64{1.4064454008565754, -0.6568260578323925, 1.7745875573486982, 0.9083409559174959}
	// goldenRowStream is the AES-CTR row stream of (SeedFromUint64(42), operator 1, row 7) for d = 2: word
	// 0, the normal and the exponential of words 0 and 1, the next word, and a Gamma(768) draw.
	goldenRowStream = []float64{557972292, -0.2584106739680011, 0.5339661713191555, 2173774350, 780.3367275137265}
	// goldenShakeRow7 are the first entries of the row holding token 7 (row π(7) = 850) in the E_s of
	// TestShakeIsDeterministic.
	goldenShakeRow7 = []float32{-0.06353517, -0.03828511, 0.022446616}
)
