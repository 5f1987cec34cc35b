package method

import (
	"cmp"
	"fmt"
	"sync"
)

// Display says how reports show a method: its name in legends and tables, where it sorts among the compared
// methods, and whether it is the reference the others are measured against (plaintext fine-tuning: its
// accuracy is the horizontal line of the accuracy figures, its cost the 1× of the time figures).
type Display struct {
	// Label is the method's name in figures and tables ("" = the registry name). A spec's label for a method
	// block takes precedence.
	Label string
	// Order ranks the method: lower first. Methods without display information sort after every described
	// method, alphabetically.
	Order int
	// Reference marks the method others are compared with.
	Reference bool
	// ReferenceLine marks a method whose dev score the accuracy figures draw as a horizontal line labelled with
	// its name (a plaintext reference such as a bag-of-words model) instead of plotting it among the compared
	// methods; its costs are shown like any method's.
	ReferenceLine bool
}

// defaultDisplays describes the methods of docs/design.md §5 in the paper's order. Methods may register their
// own display information with Describe (which replaces an entry here); a method that registers nothing and is
// not listed here sorts after these, alphabetically, under its registry name.
var defaultDisplays = map[string]Display{
	"plaintext":  {Label: "plaintext", Order: 0, Reference: true},
	"cyphertalk": {Label: "CypherTalk", Order: 10},
	"dp-forward": {Label: "DP-Forward", Order: 20},
	"dp-sgd":     {Label: "DP-SGD", Order: 30},
	"dx-text":    {Label: "dχ text", Order: 40},
	"he-ckks":    {Label: "HE-CKKS", Order: 50},
	"mpc-2pc":    {Label: "MPC-2PC", Order: 60},
}

var (
	displayMu  sync.RWMutex
	registered = map[string]Display{}
)

// Describe registers how reports show the method called name, replacing any default entry. Describing a
// name twice panics (a programming error), as Register does.
func Describe(name string, d Display) {
	displayMu.Lock()
	defer displayMu.Unlock()
	if _, dup := registered[name]; dup {
		panic(fmt.Sprintf("method %q described twice", name))
	}
	registered[name] = d
}

// DisplayOf returns the display information of a method: what Describe registered, else the default entry;
// ok is false for a method nobody described (the returned Display then has the registry name as Label).
func DisplayOf(name string) (d Display, ok bool) {
	displayMu.RLock()
	d, ok = registered[name]
	displayMu.RUnlock()
	if !ok {
		d, ok = defaultDisplays[name]
	}
	if d.Label == "" {
		d.Label = name
	}
	return d, ok
}

// IsReference reports whether the method is described as the reference of the comparison.
func IsReference(name string) bool {
	d, _ := DisplayOf(name)
	return d.Reference
}

// CompareDisplay orders two method registry names for figures and tables: described methods by Order, then
// the rest; ties and undescribed methods alphabetically.
func CompareDisplay(a, b string) int {
	da, oka := DisplayOf(a)
	db, okb := DisplayOf(b)
	switch {
	case oka && !okb:
		return -1
	case !oka && okb:
		return 1
	case oka && okb:
		if c := cmp.Compare(da.Order, db.Order); c != 0 {
			return c
		}
	}
	return cmp.Compare(a, b)
}
