package experiments

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// ClaimsDir is the sub-directory of an experiment directory that holds the claims of runs being executed.
const ClaimsDir = "claims"

// DefaultClaimTimeout is how long a claim lives without a heartbeat before another runner may take it over.
const DefaultClaimTimeout = 5 * time.Minute

// ClaimInfo is the content of a claim file, <experiment>/claims/<run_id>.claim: who executes the run. The
// file's modification time is the heartbeat, refreshed while the run executes.
type ClaimInfo struct {
	Run   string    `json:"run"`
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Start time.Time `json:"start"`
	// Token tells this claim from a later one of the same run.
	Token string `json:"token"`
}

// claimPath is where the claim of run id lives under the experiment directory expDir.
func claimPath(expDir, id string) string { return filepath.Join(expDir, ClaimsDir, id+".claim") }

// claim is a held claim: release it when the run has finished or failed.
type claim struct {
	path, token string
	stop        chan struct{}
	done        chan struct{}
	once        sync.Once
}

// claimer takes claims for one runner.
type claimer struct {
	host    string
	pid     int
	timeout time.Duration // heartbeat older than this = stale
	log     *slog.Logger
}

// acquire claims run id under expDir. It returns the held claim, or nil and the live holder's claim when another
// runner holds it. A claim whose process is gone (same host: its pid is not alive; any host: no heartbeat for
// the timeout) is taken over.
func (c *claimer) acquire(expDir, id string) (*claim, *ClaimInfo, error) {
	path := claimPath(expDir, id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("claiming run %s: %w", id, err)
	}
	for range 5 {
		cl, err := c.create(path, id)
		if err == nil {
			return cl, nil, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, nil, err
		}
		info, heartbeat, err := readClaim(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile: try again
		}
		if !c.stale(info, heartbeat, err) {
			if info == nil { // being written by its creator this instant
				info = &ClaimInfo{Run: id}
			}
			return nil, info, nil
		}
		// Take the stale claim over: move it out of the way under a name of our own, and check that what moved
		// is the claim judged stale (not a fresh one another runner put there meanwhile, which goes back).
		aside := fmt.Sprintf("%s.stale-%s", path, newToken())
		if err := os.Rename(path, aside); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, nil, fmt.Errorf("taking over the claim %s: %w", path, err)
		}
		moved, _, merr := readClaim(aside)
		if info != nil && (merr != nil || moved.Token != info.Token) {
			_ = os.Link(aside, path) // restore it (fails harmlessly if yet another claim is there)
			_ = os.Remove(aside)
			continue
		}
		_ = os.Remove(aside)
		args := []any{"run", id, "claim", path}
		if info != nil {
			args = append(args, "pid", info.PID, "host", info.Host, "since", info.Start.Format(time.RFC3339),
				"heartbeat", heartbeat.Format(time.RFC3339))
		}
		c.log.Warn("taking over the claim of a runner that is gone", args...)
	}
	return nil, nil, fmt.Errorf("claiming run %s: %s keeps changing", id, path)
}

// create makes the claim file with O_EXCL (fs.ErrExist when another claim is there) and starts its heartbeat.
func (c *claimer) create(path, id string) (*claim, error) {
	info := ClaimInfo{Run: id, PID: c.pid, Host: c.host, Start: time.Now().UTC(), Token: newToken()}
	b, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("claiming run %s: %w", id, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("claiming run %s: %w", id, err)
	}
	cl := &claim{path: path, token: info.Token, stop: make(chan struct{}), done: make(chan struct{})}
	go cl.heartbeat(max(c.timeout/5, time.Millisecond), c.log)
	return cl, nil
}

// stale reports whether a claim may be taken over. info is nil (err set) for a claim file that cannot be read
// or parsed yet (its creator is writing it): stale only once its heartbeat is older than the timeout.
func (c *claimer) stale(info *ClaimInfo, heartbeat time.Time, err error) bool {
	if time.Since(heartbeat) > c.timeout {
		return true
	}
	if err != nil || info == nil || info.Host != c.host || info.PID == c.pid {
		return false
	}
	alive, known := processAlive(info.PID)
	return known && !alive
}

// heartbeat refreshes the claim file's modification time until release; it stops (with a warning) if the claim
// was taken over, which happens only when this process stalled for longer than the timeout.
func (cl *claim) heartbeat(every time.Duration, log *slog.Logger) {
	defer close(cl.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cl.stop:
			return
		case <-t.C:
			if info, _, err := readClaim(cl.path); err != nil || info.Token != cl.token {
				log.Warn("another runner took over this run's claim (this process stalled past the claim timeout); the run may execute twice",
					"claim", cl.path)
				return
			}
			now := time.Now()
			_ = os.Chtimes(cl.path, now, now)
		}
	}
}

// release stops the heartbeat and removes the claim file if it is still this claim.
func (cl *claim) release() {
	cl.once.Do(func() {
		close(cl.stop)
		<-cl.done
		if info, _, err := readClaim(cl.path); err == nil && info.Token == cl.token {
			_ = os.Remove(cl.path)
		}
	})
}

// readClaim reads a claim file and its heartbeat (modification time). A file that exists but does not parse
// returns its heartbeat with a non-nil error.
func readClaim(path string) (*ClaimInfo, time.Time, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, st.ModTime(), err
	}
	var info ClaimInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, st.ModTime(), fmt.Errorf("claim %s: %w", path, err)
	}
	return &info, st.ModTime(), nil
}

// processAlive reports whether process pid exists on this host; known is false where it cannot be told (the
// claim then lives until its heartbeat times out).
func processAlive(pid int) (alive, known bool) {
	if pid <= 0 {
		return false, true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false, runtime.GOOS == "windows" // Windows finds only live processes
	}
	err = p.Signal(syscall.Signal(0))
	switch {
	case err == nil, errors.Is(err, syscall.EPERM):
		return true, true
	case errors.Is(err, os.ErrProcessDone), errors.Is(err, syscall.ESRCH):
		return false, true
	}
	return false, false
}

func newToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
