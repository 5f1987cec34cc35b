package ckks

import (
	"fmt"
	"strings"

	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
)

// ParameterSet names a CKKS parameter set of the engine.
type ParameterSet string

const (
	// Secure128 is the default: lattigo v6.1.1's examples.CKKSComplexParamsN14QP438 (examples/params.go):
	// N = 2^14 (8,192 complex slots, used for reals), Q = 45 + 9×34 bits, P = 44 + 43 bits, scale 2^34, so
	// log QP = 438, the HomomorphicEncryption.org standard's bound for 128-bit security at N = 2^14 with a
	// ternary secret (Albrecht et al., "Homomorphic Encryption Security Standard", 2018, Table 1). 9 levels.
	Secure128 ParameterSet = "n14-qp438"
	// TestN12 and TestN13 are NOT secure (log QP far above the standard's 109 and 218 bits for those N): the
	// same prime sizes on a smaller ring and a shorter chain (5 levels), so that tests run in seconds.
	TestN12 ParameterSet = "test-n12"
	TestN13 ParameterSet = "test-n13"
)

// ParameterSetNames lists the valid names, the secure one first.
func ParameterSetNames() []string {
	return []string{string(Secure128), string(TestN12), string(TestN13)}
}

// Literal returns the lattigo parameters of the set.
func (p ParameterSet) Literal() (ckks.ParametersLiteral, error) {
	switch p {
	case Secure128, "":
		return ckks.ParametersLiteral{
			LogN:            14,
			LogQ:            []int{45, 34, 34, 34, 34, 34, 34, 34, 34, 34},
			LogP:            []int{44, 43},
			LogDefaultScale: 34,
		}, nil
	case TestN12, TestN13:
		logN := 12
		if p == TestN13 {
			logN = 13
		}
		return ckks.ParametersLiteral{
			LogN:            logN,
			LogQ:            []int{45, 34, 34, 34, 34, 34},
			LogP:            []int{44, 43},
			LogDefaultScale: 34,
		}, nil
	default:
		return ckks.ParametersLiteral{}, fmt.Errorf("unknown CKKS parameter set %q (valid: %s)", p, strings.Join(ParameterSetNames(), ", "))
	}
}

// Secure reports whether the set meets 128-bit security (only Secure128 does).
func (p ParameterSet) Secure() bool { return p == Secure128 || p == "" }

// MaxLogQP128 is the HE standard's largest log QP for 128-bit classical security with a ternary secret at ring
// degree 2^logN (0 where the standard gives none).
func MaxLogQP128(logN int) float64 {
	switch logN {
	case 10:
		return 27
	case 11:
		return 54
	case 12:
		return 109
	case 13:
		return 218
	case 14:
		return 438
	case 15:
		return 881
	default:
		return 0
	}
}

// NominalLogQP is the sum of the bit sizes of the primes of Q and P, the quantity the HE standard bounds (the
// primes lattigo draws lie within a hair of those powers of two: log QP = 438.00 for Secure128).
func NominalLogQP(lit ckks.ParametersLiteral) float64 {
	n := 0
	for _, b := range lit.LogQ {
		n += b
	}
	for _, b := range lit.LogP {
		n += b
	}
	return float64(n)
}
