package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// PeerInfo is the PyTorch peer's header line: its versions, threads and parameter counts.
type PeerInfo struct {
	Torch   string `json:"torch"`
	Python  string `json:"python"`
	Threads int    `json:"threads"`
	// ThreadProbe is the probe's seconds per fine-tuning step at each thread count tried ("1", "2"), when the
	// peer chose its thread count itself.
	ThreadProbe     map[string]float64 `json:"thread_probe"`
	ParamsTrainable int                `json:"params_trainable"`
	ParamsFrozen    int                `json:"params_frozen"`
}

// PeerResult is one of the peer's measured kinds.
type PeerResult struct {
	Kind            Kind    `json:"kind"`
	Batch           int     `json:"batch"`
	Steps           int     `json:"steps"`
	StepSeconds     float64 `json:"step_s"`
	MeanStepSeconds float64 `json:"mean_step_s"`
	ExPerSec        float64 `json:"ex_per_s"`
	Params          int     `json:"params"`
	Threads         int     `json:"threads"`
}

// ParsePeer reads the peer's stdout: JSON objects one per line, {"type":"info",...} once and {"type":"result",
// ...} per kind; blank lines are skipped. Errors name the line.
func ParsePeer(r io.Reader) (PeerInfo, []PeerResult, error) {
	var info PeerInfo
	var res []PeerResult
	seenInfo := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(line), &head); err != nil {
			return info, nil, fmt.Errorf("peer output line %d: not a JSON object (%v): %.120q", n, err, line)
		}
		switch head.Type {
		case "info":
			if err := decodeStrict(line, &struct {
				Type string `json:"type"`
				*PeerInfo
			}{PeerInfo: &info}); err != nil {
				return info, nil, fmt.Errorf("peer output line %d (info): %w", n, err)
			}
			seenInfo = true
		case "result":
			var p PeerResult
			if err := decodeStrict(line, &struct {
				Type string `json:"type"`
				*PeerResult
			}{PeerResult: &p}); err != nil {
				return info, nil, fmt.Errorf("peer output line %d (result): %w", n, err)
			}
			switch {
			case !slices.Contains(AllKinds(), p.Kind):
				return info, nil, fmt.Errorf("peer output line %d: unknown kind %q", n, p.Kind)
			case !(p.StepSeconds > 0) || math.IsInf(p.StepSeconds, 0) || p.Batch <= 0 || p.Steps <= 0:
				return info, nil, fmt.Errorf("peer output line %d (%s): step_s %v, batch %d, steps %d must be positive", n, p.Kind, p.StepSeconds, p.Batch, p.Steps)
			}
			res = append(res, p)
		default:
			return info, nil, fmt.Errorf("peer output line %d: type %q is neither info nor result", n, head.Type)
		}
	}
	if err := sc.Err(); err != nil {
		return info, nil, fmt.Errorf("reading peer output: %w", err)
	}
	if !seenInfo {
		return info, nil, fmt.Errorf("peer output has no info line")
	}
	return info, res, nil
}

// decodeStrict decodes one JSON object into v, refusing fields v does not have (a renamed field in the peer
// would otherwise read as zero).
func decodeStrict(line string, v any) error {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Ratio is the project's speed over the peer's for one kind in one round: peer seconds per step ÷ project
// seconds per step (for inference the same as project ex/s ÷ peer ex/s at equal batch). Above 1 the project is
// faster. NaN when either time is missing or the batches differ.
func Ratio(goRes Measurement, peer PeerResult) float64 {
	if !(goRes.StepSeconds > 0) || !(peer.StepSeconds > 0) || goRes.Batch != peer.Batch {
		return math.NaN()
	}
	return peer.StepSeconds / goRes.StepSeconds
}

// Goal is the speed ratio the project aims at for a kind: at least as fast as PyTorch everywhere, and 1.5×
// on the frozen-table fine-tuning step (the step private tuning runs).
func Goal(k Kind) float64 {
	if k == FinetuneFrozen {
		return 1.5
	}
	return 1.0
}

// Spread summarises a kind's ratios over rounds.
type Spread struct {
	Kind             Kind
	Rounds           int
	Median, Min, Max float64
	Goal             float64
}

// Met reports whether the median ratio reaches the goal.
func (s Spread) Met() bool { return s.Median >= s.Goal }

// Summarize returns one Spread per kind, in the order of kinds, over the rounds' ratios (NaN ratios are left
// out; a kind without any has Rounds 0 and NaN statistics).
func Summarize(kinds []Kind, ratios map[Kind][]float64) []Spread {
	var out []Spread
	for _, k := range kinds {
		var xs []float64
		for _, r := range ratios[k] {
			if !math.IsNaN(r) {
				xs = append(xs, r)
			}
		}
		s := Spread{Kind: k, Rounds: len(xs), Goal: Goal(k), Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
		if len(xs) > 0 {
			s.Median, s.Min, s.Max = Median(xs), slices.Min(xs), slices.Max(xs)
		}
		out = append(out, s)
	}
	return out
}

// String renders a spread as the summary line `make bench-peer` ends with.
func (s Spread) String() string {
	if s.Rounds == 0 {
		return fmt.Sprintf("%-19s no ratio measured", s.Kind)
	}
	status := "below goal"
	if s.Met() {
		status = "goal met"
	}
	return fmt.Sprintf("%-19s %5.2f× (range %.2f–%.2f over %d rounds)   goal ≥ %.1f×: %s", s.Kind, s.Median, s.Min, s.Max,
		s.Rounds, s.Goal, status)
}

// TorchInstallHint says how to get the peer's one dependency.
const TorchInstallHint = "install PyTorch for python3: `apt-get install python3-torch libopenblas0-pthread` (Debian/Ubuntu) " +
	"or `pip install torch`, or name an interpreter that has it with --python"

// PythonCandidates are the interpreters FindPython tries when none is named: the one on PATH, then the system
// one (a pyenv or virtualenv python3 on PATH does not see Debian's python3-torch).
var PythonCandidates = []string{"python3", "/usr/bin/python3"}

// FindPython returns the first of candidates that imports torch, or an error naming them and what to install.
func FindPython(candidates []string) (string, error) {
	var tried []string
	for _, py := range candidates {
		cmd := exec.Command(py, "-c", "import torch")
		if out, err := cmd.CombinedOutput(); err != nil {
			msg := strings.TrimSpace(string(out))
			if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
				msg = msg[i+1:]
			}
			if msg == "" {
				msg = err.Error()
			}
			tried = append(tried, fmt.Sprintf("%s (%s)", py, msg))
			continue
		}
		return py, nil
	}
	return "", fmt.Errorf("the PyTorch peer needs python3 with torch; none of the interpreters tried imports it: %s. To run it, %s",
		strings.Join(tried, "; "), TorchInstallHint)
}

// PeerArgs are the arguments of one peer run: the kinds, timed steps and threads ("auto" or a number), and the
// preset's shape (so the peer builds the same model).
func PeerArgs(script string, p models.Preset, vocab int, kinds []Kind, steps int, threads string) []string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return []string{script, "--kinds", strings.Join(names, ","), "--steps", strconv.Itoa(steps), "--warmup", strconv.Itoa(Warmup),
		"--threads", threads, "--vocab", strconv.Itoa(vocab), "--hidden", strconv.Itoa(p.Hidden), "--layers", strconv.Itoa(p.Layers),
		"--heads", strconv.Itoa(p.Heads), "--ffn", strconv.Itoa(p.FFN), "--seq", strconv.Itoa(p.MaxLen),
		"--batch", strconv.Itoa(p.BatchSize), "--dropout", strconv.FormatFloat(p.Dropout, 'g', -1, 64)}
}

// RunPeer runs the peer script once with python and returns what it measured. A failing run's error carries the
// end of its stderr.
func RunPeer(ctx context.Context, python, script string, p models.Preset, vocab int, kinds []Kind, steps int, threads string) (PeerInfo, []PeerResult, error) {
	if p.PreLN {
		return PeerInfo{}, nil, fmt.Errorf("the PyTorch peer builds post-LN models only; preset %s is pre-LN", p.Name)
	}
	cmd := exec.CommandContext(ctx, python, PeerArgs(script, p, vocab, kinds, steps, threads)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tail := strings.TrimSpace(stderr.String())
		if len(tail) > 2000 {
			tail = "…" + tail[len(tail)-2000:]
		}
		return PeerInfo{}, nil, fmt.Errorf("PyTorch peer %s %s: %w\n%s", python, script, err, tail)
	}
	info, res, err := ParsePeer(&stdout)
	if err != nil {
		return info, nil, fmt.Errorf("PyTorch peer %s: %w", script, err)
	}
	for _, k := range kinds {
		if !slices.ContainsFunc(res, func(r PeerResult) bool { return r.Kind == k }) {
			return info, nil, fmt.Errorf("PyTorch peer %s measured no %s", script, k)
		}
	}
	return info, res, nil
}
