package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSlurmScript(t *testing.T) {
	spec := writeSpec(t, cmdSpec)
	out, err := execCLI(t, "--data", "/cluster/data", "slurm", spec, "--shards", "3", "--results", "/scratch/res",
		"--binary", "/opt/cyphertalk", "--partition", "cpu", "--chdir", "/scratch/work")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#!/bin/bash\n", "#SBATCH --array=0-2\n", "#SBATCH --partition=cpu\n", "#SBATCH --cpus-per-task=2\n",
		"#SBATCH --chdir=/scratch/work\n", "\nbinary=/opt/cyphertalk\n",
		`exec "$binary" --data /cluster/data run ` + spec + ` --results /scratch/res --shard "${SLURM_ARRAY_TASK_ID}/3"`,
		`experiment "cmdtest"`, "4 runs in 3 shards, balanced by\n# estimated cost", "Estimated wall time on 2 cores: longest task ",
		"sbatch THIS_FILE [--binary PATH]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("script lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pretrain --preset") {
		t.Errorf("a spec without pre-training asks for it:\n%s", out)
	}
	// #SBATCH lines must precede the first command, or sbatch ignores them.
	firstCommand := strings.Index(out, "\nset -euo")
	if strings.LastIndex(out, "#SBATCH") > firstCommand {
		t.Error("an #SBATCH line follows a command")
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		check := exec.Command(bash, "-n")
		check.Stdin = strings.NewReader(out)
		if msg, err := check.CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v %s", err, msg)
		}
	}
	if _, err := execCLI(t, "slurm", spec); err == nil {
		t.Error("slurm without --shards accepted")
	}
	if _, err := execCLI(t, "slurm", spec, "--shards", "2", "--chdir", "/a dir"); err == nil || !strings.Contains(err.Error(), "--chdir") {
		t.Errorf("--chdir with a space: %v", err)
	}
	pre := strings.Replace(cmdSpec, `pretrain = "none"`, `pretrain = "default"`, 1)
	out, err = execCLI(t, "slurm", writeSpec(t, pre), "--shards", "2", "--binary", "cyphertalk")
	if err != nil || !strings.Contains(out, "#   cyphertalk pretrain --preset nano\n") {
		t.Errorf("pre-training hint missing: %v\n%s", err, out)
	}
}

// TestSlurmScriptTakesTheBinaryPath runs the emitted script as an array task would, with stand-in binaries that
// print their arguments: the path given when generating is the default, and the script's --binary (sbatch
// passes arguments after the script's name on to it) overrides it, so a cluster's shared path can be given.
func TestSlurmScriptTakesTheBinaryPath(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	fake := func(name string) string {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho \""+name+"\" \"$@\" GOMAXPROCS=$GOMAXPROCS\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	built, shared := fake("built-here"), fake("shared fs/cyphertalk")
	spec := writeSpec(t, cmdSpec)
	script, err := execCLI(t, "--data", "/cluster/data", "slurm", spec, "--shards", "4", "--binary", built, "--results", "/r")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "job.sbatch")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	task := func(args ...string) (string, error) {
		cmd := exec.Command(bash, append([]string{path}, args...)...)
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=3", "SLURM_CPUS_PER_TASK=5")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tail := " --data /cluster/data run " + spec + " --results /r --shard 3/4 GOMAXPROCS=5\n"
	if out, err := task(); err != nil || out != "built-here"+tail {
		t.Errorf("default binary: %v\n%q", err, out)
	}
	if out, err := task("--binary", shared); err != nil || out != "shared fs/cyphertalk"+tail {
		t.Errorf("--binary PATH: %v\n%q", err, out)
	}
	if out, err := task("--binary=" + shared); err != nil || out != "shared fs/cyphertalk"+tail {
		t.Errorf("--binary=PATH: %v\n%q", err, out)
	}
	if out, err := task("--binary", filepath.Join(dir, "missing")); err == nil || !strings.Contains(out, `cyphertalk binary "`+filepath.Join(dir, "missing")+`" not found`) {
		t.Errorf("a missing binary: %v\n%s", err, out)
	}
	if out, err := task("--bogus"); err == nil || !strings.Contains(out, `unknown argument "--bogus"`) {
		t.Errorf("an unknown argument: %v\n%s", err, out)
	}
	if out, err := task("--binary"); err == nil || !strings.Contains(out, "--binary needs a path") {
		t.Errorf("--binary without a path: %v\n%s", err, out)
	}
}

func TestApproxDuration(t *testing.T) {
	for secs, want := range map[float64]string{12.4: "12s", 59.6: "1m", 61: "1m", 754: "13m", 3600 + 5*60 + 10: "1h5m", 7200: "2h0m"} {
		if got := approxDuration(secs); got != want {
			t.Errorf("approxDuration(%v) = %q, want %q", secs, got, want)
		}
	}
}
