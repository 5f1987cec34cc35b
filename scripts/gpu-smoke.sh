#!/usr/bin/env bash
# GPU smoke test (make gpu-smoke): builds cyphertalk with the XLA/PJRT backend (-tags xla, cgo), runs the smoke
# spec (experiments/specs/smoke.toml: every method, SST-2 and QQP, from random weights) on a bigger preset through
# that backend, renders its report and then runs `cyphertalk bench` on the same backend. Not part of `make test`.
#
#   PJRT_PLUGIN=/abs/path/xla_cuda_plugin.so scripts/gpu-smoke.sh
#
# PJRT_PLUGIN  the PJRT plugin (.so) the backend loads (required; any PJRT plugin works, a CPU one included)
# PRESET       the model preset of the smoke runs (default mini); the bench measures tiny and PRESET
# OUT          results root (default results/gpu-smoke): runs under OUT/smoke/, report in OUT/report/, bench
#              records under OUT/bench/
# RUN_ARGS     extra arguments for `cyphertalk run`, e.g. "--only method=plaintext"
# BENCH_ARGS   extra arguments for `cyphertalk bench`, e.g. "--steps 20"
# XLA_FLAGS    passed through; for a CUDA plugin without --xla_gpu_cuda_data_dir the script adds it when it finds
#              the CUDA toolkit (nvidia/cu13 or nvidia/cuda_nvcc) beside the plugin (docs/design.md §8)
# GO, LDFLAGS  the go command and the linker flags of the build (the Makefile passes the git stamp)
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
PRESET=${PRESET:-mini}
OUT=${OUT:-results/gpu-smoke}
BIN=bin/cyphertalk-xla

die() {
	echo "gpu-smoke: $*" >&2
	exit 2
}

if [ -z "${PJRT_PLUGIN:-}" ]; then
	cat >&2 <<'EOF'
gpu-smoke: PJRT_PLUGIN is not set: it must name the PJRT plugin (a .so file) that runs the graphs, e.g.

    PJRT_PLUGIN=/abs/path/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so make gpu-smoke

Where to get one for an NVIDIA GPU (CUDA 13 driver):
  * pip install "jax[cuda13]" in a virtual environment: the plugin is
    <site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so and the CUDA toolkit it needs is
    <site-packages>/nvidia/cu13 (this script points XLA_FLAGS=--xla_gpu_cuda_data_dir at it);
  * or go-xla's installer, go run github.com/gomlx/go-xla/cmd/pjrt_installer@latest -autoinstall, which
    installs ~/.local/lib/go-xla/nvidia/pjrt_c_api_cuda_plugin.so with the NVIDIA libraries beside it.
Any PJRT plugin works, a CPU one included (github.com/gomlx/pjrt-cpu-binaries), to test the XLA path without a
GPU. See docs/design.md §8.
EOF
	exit 2
fi
case "$PJRT_PLUGIN" in
/*) ;;
*) PJRT_PLUGIN="$(pwd)/$PJRT_PLUGIN" ;;
esac
[ -f "$PJRT_PLUGIN" ] || die "PJRT_PLUGIN=$PJRT_PLUGIN: no such file (see docs/design.md §8 for where to get a plugin)"
command -v "${CC:-gcc}" >/dev/null 2>&1 || die "the -tags xla build needs a C compiler for cgo (${CC:-gcc} not found; e.g. apt-get install gcc)"

# A CUDA plugin needs the CUDA toolkit's directory (ptxas, libdevice) in XLA_FLAGS. go-xla v0.1.4 fills it in by
# itself with a path that exists only on its author's machine, so it is always set here.
plugin_name=$(basename "$PJRT_PLUGIN")
if [[ "${plugin_name,,}" == *cuda* || "${plugin_name,,}" == *nvidia* ]] && [[ "${XLA_FLAGS:-}" != *--xla_gpu_cuda_data_dir* ]]; then
	dir=$(dirname "$PJRT_PLUGIN")
	cuda_dir=""
	for base in "$dir" "$dir/.." "$dir/../.."; do
		for cand in nvidia/cu13 nvidia/cuda_nvcc cu13 cuda_nvcc; do
			if [ -z "$cuda_dir" ] && [ -d "$base/$cand" ]; then
				cuda_dir=$(cd "$base/$cand" && pwd)
			fi
		done
	done
	if [ -n "$cuda_dir" ]; then
		export XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_gpu_cuda_data_dir=$cuda_dir"
	else
		echo "gpu-smoke: warning: no CUDA toolkit directory (nvidia/cu13 or nvidia/cuda_nvcc) found beside $PJRT_PLUGIN;" \
			"set XLA_FLAGS=--xla_gpu_cuda_data_dir=<dir> if compilation fails to find ptxas or libdevice" >&2
	fi
fi

export GOMLX_BACKEND="xla:$PJRT_PLUGIN"
export GOMLX_NO_AUTO_INSTALL=1
echo "gpu-smoke: GOMLX_BACKEND=$GOMLX_BACKEND${XLA_FLAGS:+ XLA_FLAGS=$XLA_FLAGS}, preset $PRESET, results in $OUT"

mkdir -p bin "$OUT"
CGO_ENABLED=1 "$GO" build -tags xla -ldflags "${LDFLAGS:-}" -o "$BIN" ./cmd/cyphertalk

# Data: as `make data`, fetched into ./data when no data directory is found.
if [ -z "${DATA_DIR:-}" ] && [ ! -d ../shared/data ] && [ ! -d data ]; then
	echo "gpu-smoke: no data directory found (../shared/data, ./data or \$DATA_DIR): fetching the public copies into ./data"
	"$BIN" data fetch --dest data
fi

# The smoke spec on PRESET: the embedded spec with its preset and description replaced.
spec_dir=$(mktemp -d)
trap 'rm -rf "$spec_dir"' EXIT
spec="$spec_dir/smoke.toml"
sed -e "s/^preset = \"nano\"/preset = \"$PRESET\"/" \
	-e "s/^description = .*/description = \"the smoke spec on the $PRESET model through XLA\/PJRT (scripts\/gpu-smoke.sh)\"/" \
	experiments/specs/smoke.toml >"$spec"
grep -q "^preset = \"$PRESET\"" "$spec" || die "experiments/specs/smoke.toml has no line preset = \"nano\" to replace"

"$BIN" run "$spec" --results "$OUT" ${RUN_ARGS:-}
"$BIN" report "$OUT/smoke" -o "$OUT/report"
"$BIN" bench --configs "$GOMLX_BACKEND" --presets "tiny,$PRESET" --results "$OUT" ${BENCH_ARGS:-}
echo "gpu-smoke: done: runs in $OUT/smoke, report $OUT/report/index.html, bench records in $OUT/bench"
