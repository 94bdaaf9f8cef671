#!/usr/bin/env bash
# What a new user meets: a fresh clone, a new virtual environment, an empty HOME, no MELANOMA_* setting.
# Installs the package (not editable, or editable with --editable), then times the first prediction and
# runs the self-test. Prints the numbers docs/packaging.md quotes.
#
#   bash scripts/fresh_install_check.sh [--editable] [IMAGE]
#
# IMAGE defaults to one of the self-test's probe images written as a PNG.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mode=wheel
if [ "${1:-}" = "--editable" ]; then mode=editable; shift; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for name in $(env | grep -o '^MELANOMA_[A-Z_]*' || true); do unset "$name"; done
unset KERAS_HOME TF_CPP_MIN_LOG_LEVEL
export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
mkdir -p "$HOME"
git clone -q "$repo" "$work/clone"
cd "$work/clone"
start=$(date +%s.%N)
if [ "$mode" = editable ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -e . 2>&1 | grep -v "^WARNING: Location" || true
else
  python3 -m venv .venv && .venv/bin/pip install -q . 2>&1 | grep -v "^WARNING: Location" || true
fi
installed=$(date +%s.%N)
echo "install ($mode): $(python3 -c "print(round($installed - $start, 1))") s, environment $(du -sh .venv | cut -f1)"
echo "tensorflow package: $(.venv/bin/pip list 2>/dev/null | grep -i '^tensorflow' | tr -s ' ' | tr '\n' ' ')"
image="${1:-}"
if [ -z "$image" ]; then
  image="$work/probe.png"
  (cd "$work" && "$work/clone/.venv/bin/python" -c "
from PIL import Image; from trainer.evaluation.probes import probe_images
Image.fromarray(probe_images()['skin_dark_irregular']).save('$image')")
fi
cd "$work"  # away from the checkout: the installed package must find its own files
t0=$(date +%s.%N)
"$work/clone/.venv/bin/melanoma-desktop" triage --json "$image" > "$work/triage.json" 2> "$work/triage.err"
t1=$(date +%s.%N)
echo "first prediction (process start to JSON line, TensorFlow import and model loading included): $(python3 -c "print(round($t1 - $t0, 1))") s"
echo "models in the answer: $(python3 -c "import json; print([m['name'] for m in json.load(open('$work/triage.json'))['models']])")"
echo "stderr lines: $(wc -l < "$work/triage.err")"
"$work/clone/.venv/bin/melanoma-desktop" --self-test | tail -n 3
