#!/usr/bin/env bash
# The GPU check in one command: benchmarks/gpu_check.sh [--dry] [--gpt2 PATH] [--minutes M]
# [--out DIR]. What it runs and prints: benchmarks/gpu_check.py --help.
# Python: $PYTHON, else the repository's .venv (made by `make install`), else python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[[ -x "$python" ]] || python=python3
exec "$python" "$root/benchmarks/gpu_check.py" "$@"
