package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/specs"
)

// TestRunWithoutSpec: `cyphertalk run` alone starts nothing; it prints the usage and every embedded spec with its
// description and measured duration, and fails with "a spec is required".
func TestRunWithoutSpec(t *testing.T) {
	out, err := run(t, "run", "--results", t.TempDir())
	if !errors.Is(err, errNoSpec) || !strings.Contains(fmt.Sprint(err), "a spec is required") {
		t.Fatalf("run without a spec: error %v, want %v", err, errNoSpec)
	}
	if !strings.Contains(out, "Usage:\n  cyphertalk run [SPEC]") {
		t.Errorf("no usage:\n%s", out)
	}
	list, err := specs.List()
	if err != nil {
		t.Fatal(err)
	}
	measured := 0
	for _, info := range list {
		want := regexp.QuoteMeta(info.Name) + `\s+` + regexp.QuoteMeta(info.Description) + `\n\s+`
		if m := info.Measured; m != nil {
			measured++
			want += regexp.QuoteMeta(fmt.Sprintf("measured: %d", m.Runs)) + ` of \d+ ` +
				regexp.QuoteMeta(fmt.Sprintf("runs, %s in total (commit", formatDuration(m.Total())))
			c := specs.ShortCommit(m.GitCommits[0])
			if c == "unknown" {
				c = "not recorded"
			}
			want += `s? ` + regexp.QuoteMeta(c)
		} else {
			want += "not measured yet"
		}
		if !regexp.MustCompile(`(?m)^  ` + want).MatchString(out) {
			t.Errorf("spec %s: no line matching %s in\n%s", info.Name, want, out)
		}
	}
	if measured == 0 || measured == len(list) {
		t.Errorf("%d of %d specs measured: want the committed ones (dp, cyphertalk) and not the others", measured, len(list))
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1500 * time.Millisecond: "2s", 59 * time.Second: "59s", 61 * time.Second: "1m 01s",
		3*time.Hour + 5*time.Minute + 40*time.Second: "3h 06m", 50 * time.Hour: "50h 00m",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
