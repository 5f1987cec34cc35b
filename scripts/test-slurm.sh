#!/usr/bin/env bash
# End-to-end check of `cyphertalk slurm` on a real, single-node Slurm cluster on this machine (`make test-slurm`,
# not part of `make test`). It
#   1. installs Debian's slurm-wlm and munge with apt-get when slurmctld, slurmd or munged is missing (root only;
#      services are kept from starting during the install);
#   2. starts munged, slurmctld and slurmd on localhost, every file (key, config, state, logs) in a temporary
#      directory, on free ports, the daemons talking over 127.0.0.1 and a private munge socket only;
#   3. builds bin/cyphertalk, generates the job-array script for the embedded spec (smoke by default) in
#      $SHARDS shards with a wrong --binary, and submits it with `sbatch SCRIPT --binary bin/cyphertalk`;
#   4. waits for the array (bounded by $SLURM_TEST_TIMEOUT seconds) and requires every task COMPLETED, exit 0;
#   5. runs the same spec serially into a second results directory and compares the two with
#      scripts/resultsdiff: the same run ids and the same configuration, metrics, curves, attacks and
#      non-timing costs (timings and provenance may differ, and the crypto baselines' error against their
#      reference engine, which fresh randomness moves, need only stay within its tolerance);
#   6. stops its daemons and removes the temporary directory on exit, whatever happened.
# Exit status 0 when the sharded and serial results match, non-zero with a message naming the failed step.
#
# Environment: DATA_DIR (required: the data directory, as for `cyphertalk --data`), SPEC (default smoke),
# SHARDS (default 4), SLURM_TEST_TIMEOUT (default 1800), GO (default go), KEEP_TMP=1 keeps the temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/bin/cyphertalk"
SPEC=${SPEC:-smoke}
SHARDS=${SHARDS:-4}
TIMEOUT=${SLURM_TEST_TIMEOUT:-1800}
GO=${GO:-go}

log() { echo "test-slurm: $*"; }
fail() {
  echo "test-slurm: FAILED: $*" >&2
  exit 1
}

[ -n "${DATA_DIR:-}" ] || fail "DATA_DIR is not set (the data directory; 'make data' fetches one into ./data)"
[ -d "$DATA_DIR" ] || fail "DATA_DIR=$DATA_DIR is not a directory"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
{ [[ "$SHARDS" =~ ^[0-9]+$ ]] && ((10#$SHARDS > 0)); } || fail "SHARDS=$SHARDS: want a positive integer"
case "$TIMEOUT" in '' | *[!0-9]*) fail "SLURM_TEST_TIMEOUT=$TIMEOUT: want seconds" ;; esac

# --- 1. Slurm and munge -------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || fail "slurm-wlm and munge are not installed, and installing them needs root"
  command -v apt-get >/dev/null || fail "slurm-wlm and munge are not installed and there is no apt-get to install them"
  log "installing slurm-wlm and munge with apt-get"
  policy_rc=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # Keep the packages from starting system-wide daemons: this script runs its own.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_rc=1
  fi
  install_rc=0
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge; } || install_rc=$?
  [ -z "$policy_rc" ] || rm -f /usr/sbin/policy-rc.d
  [ "$install_rc" = 0 ] || fail "apt-get install slurm-wlm munge exited with $install_rc"
fi
[ "$(id -u)" = 0 ] || log "warning: not root; slurmd usually needs root to start jobs"
for tool in munged munge unmunge slurmctld slurmd sbatch squeue scontrol sinfo scancel; do
  command -v "$tool" >/dev/null || fail "$tool not found after installing slurm-wlm and munge"
done

# --- 2. The cluster -----------------------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cyphertalk-slurm.XXXXXX")
chmod 755 "$TMP"
PIDS=()
cleanup() {
  rc=$?
  set +e
  if [ "$rc" != 0 ] && [ -d "$TMP" ]; then
    for f in "$TMP"/slurmctld.log "$TMP"/slurmd.log "$TMP"/munge/munged.log "$TMP"/work/slurm-*.out; do
      [ -s "$f" ] && { echo "--- last lines of $f"; tail -n 20 "$f"; } >&2
    done
  fi
  # A job still queued or running is cancelled, and its tasks given time to end, before slurmd stops.
  if [ -n "${JOB:-}" ] && [ -n "$(squeue -h -j "$JOB" -o %i 2>/dev/null)" ]; then
    scancel "$JOB" 2>/dev/null
    for _ in $(seq 60); do [ -z "$(squeue -h -j "$JOB" -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  # Stop the daemons in reverse order of starting, each by its own pid, and wait for them to exit.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2>/dev/null
    for _ in $(seq 50); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.2; done
    kill -9 "${PIDS[i]}" 2>/dev/null
    wait "${PIDS[i]}" 2>/dev/null
  done
  if [ "${KEEP_TMP:-}" = 1 ]; then
    echo "test-slurm: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_ports() {
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    if port_free "$p" && port_free $((p + 1)); then
      echo "$p"
      return
    fi
  done
  fail "no two free consecutive ports on 127.0.0.1"
}
PORT=$(pick_ports)
# The node and controller are named localhost: slurmctld accepts it as its own name, and with
# CommunicationParameters=NoCtldInAddrAny,NoInAddrAny both daemons listen on 127.0.0.1 only.
HOST=localhost
MEM_MB=$(awk '/^MemTotal:/ { m = int($2 / 1024 * 0.8); print (m < 2048 ? 2048 : m) }' /proc/meminfo)

mkdir -p "$TMP/munge" "$TMP/state" "$TMP/spool" "$TMP/work"
chmod 700 "$TMP/munge"
head -c 1024 /dev/urandom >"$TMP/munge/munge.key"
chmod 400 "$TMP/munge/munge.key"
SOCK="$TMP/munge/munge.socket"
log "starting munged (socket $SOCK)"
munged --foreground --force --key-file="$TMP/munge/munge.key" --socket="$SOCK" \
  --pid-file="$TMP/munge/munged.pid" --log-file="$TMP/munge/munged.log" --seed-file="$TMP/munge/munged.seed" \
  >"$TMP/munge/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.2; done
munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null || fail "munged does not answer on $SOCK"

export SLURM_CONF="$TMP/slurm.conf"
: >"$TMP/plugstack.conf"
cat >"$SLURM_CONF" <<CONF
# Single-node test cluster of scripts/test-slurm.sh; everything under $TMP.
ClusterName=cyphertalk-test
SlurmctldHost=$HOST
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
PlugStackConfig=$TMP/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 NodeHostname=$HOST CPUs=2 RealMemory=$MEM_MB State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF

log "starting slurmctld and slurmd ($HOST, ports $PORT and $((PORT + 1)) on 127.0.0.1)"
slurmctld -D -c -f "$SLURM_CONF" >"$TMP/slurmctld.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do scontrol ping >/dev/null 2>&1 && break; sleep 0.3; done
scontrol ping 2>&1 | grep -q UP || fail "slurmctld did not come up (see $TMP/slurmctld.log)"
slurmd -D -f "$SLURM_CONF" -N "$HOST" >"$TMP/slurmd.out" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 100); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.3
done
[ "$state" = idle ] || fail "node $HOST is \"$state\", not idle (see $TMP/slurmd.log)"

# --- 3. Build and submit ------------------------------------------------------------------------------------
log "building $BIN"
export CGO_ENABLED=${CGO_ENABLED:-0}
if command -v make >/dev/null; then
  make -C "$ROOT" --no-print-directory GO="$GO" build || fail "make build"
else
  (cd "$ROOT" && "$GO" build -o "$BIN" ./cmd/cyphertalk) || fail "go build ./cmd/cyphertalk"
fi
(cd "$ROOT" && "$GO" build -o "$TMP/resultsdiff" ./scripts/resultsdiff) || fail "go build ./scripts/resultsdiff"

SCRIPT="$TMP/work/$SPEC.sbatch"
# The script is generated with a binary path that does not exist here and given the real one at submission,
# as on a cluster whose nodes see the binary under another path.
"$BIN" --data "$DATA_DIR" --cache "$TMP/cache-slurm" slurm "$SPEC" --shards "$SHARDS" --cpus 1 --mem 1G \
  --time 01:00:00 --results "$TMP/results-slurm" --chdir "$TMP/work" --binary /nonexistent/cyphertalk \
  >"$SCRIPT" || fail "cyphertalk slurm $SPEC"
JOB=$(sbatch --parsable "$SCRIPT" --binary "$BIN") || fail "sbatch $SCRIPT"
JOB=${JOB%%;*}
log "submitted job array $JOB ($SHARDS tasks); waiting up to $TIMEOUT s"

# --- 4. Wait --------------------------------------------------------------------------------------------------
start=$SECONDS
while [ -n "$(squeue -h -j "$JOB" -o %i 2>/dev/null)" ]; do
  if ((SECONDS - start > TIMEOUT)); then
    squeue -j "$JOB" >&2 || true
    fail "job array $JOB still running after $TIMEOUT s (SLURM_TEST_TIMEOUT)"
  fi
  sleep 5
done
log "job array $JOB finished after $((SECONDS - start)) s"
tasks=$(scontrol -o show job "$JOB" 2>/dev/null) || fail "scontrol show job $JOB"
ntasks=$(grep -c "ArrayTaskId=" <<<"$tasks" || true)
[ "$ntasks" = "$SHARDS" ] || fail "job $JOB has $ntasks array tasks, want $SHARDS"
bad=$(grep -v -E "JobState=COMPLETED .*ExitCode=0:0" <<<"$tasks" | grep -o -E "JobId=[0-9]+ ArrayJobId=[0-9]+ ArrayTaskId=[0-9]+|JobState=[A-Z_]+|ExitCode=[0-9:]+" | paste -sd ' ' || true)
[ -z "$bad" ] || fail "array tasks did not all complete with exit 0: $bad"
for f in "$TMP"/work/slurm-*.out; do
  grep -q -E "runs: [0-9]+ finished now, 0 already done, 0 failed, 0 not run" "$f" ||
    fail "task log $f does not report a clean shard: $(tail -n 3 "$f")"
done

# --- 5. Serial run and comparison ---------------------------------------------------------------------------
log "running $SPEC serially (GOMAXPROCS=1, as the array tasks)"
(cd "$TMP/work" && GOMAXPROCS=1 "$BIN" --data "$DATA_DIR" --cache "$TMP/cache-serial" run "$SPEC" \
  --results "$TMP/results-serial" >"$TMP/serial.log" 2>&1) || { tail -n 20 "$TMP/serial.log" >&2; fail "serial run of $SPEC"; }
exp=$(ls "$TMP/results-serial")
[ -n "$exp" ] && [ "$(wc -w <<<"$exp")" = 1 ] || fail "the serial run left \"$exp\" in $TMP/results-serial, want one experiment"
"$TMP/resultsdiff" "$TMP/results-serial/$exp" "$TMP/results-slurm/$exp" ||
  fail "the $SHARDS-shard Slurm results differ from the serial run"
log "OK: $SHARDS Slurm array tasks wrote the same runs and results as one serial run of $SPEC"
