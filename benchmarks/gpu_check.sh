#!/usr/bin/env bash
# The GPU check, for a machine with CUDA and this project installed (README: install): the device and its
# driver, the smoke book built on it from an empty run cache (timed), then benchmarks/gpu_check.py (the
# statistics engine on the device against the CPU, one timed epoch of each paper-profile run kind with and
# without per-sample statistics, and the paper book's projected device-hours). Arguments go to gpu_check.py.
#   bash benchmarks/gpu_check.sh [--fraction 0.02] [--stats-samples 64]
# Nothing in the tests or CI calls it. PYTHON picks the interpreter (default .venv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
"$PY" -c "import torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'; print('torch', torch.__version__, 'on', torch.cuda.get_device_name(0))"
runs=$(mktemp -d)
start=$(date +%s)
BOOK_RUNS_DIR="$runs" "$PY" scripts/build_book.py --profile smoke
echo "smoke book on the GPU from an empty run cache: $(( $(date +%s) - start )) s (run cache $runs)"
"$PY" benchmarks/gpu_check.py --device cuda "$@"
