#!/usr/bin/env bash
# Makes .venv-asterix-decoder: the independent ASTERIX decoder (PyPI `asterix-decoder`, Croatia
# Control's C++ decoder) in a virtual environment of its own, because it installs a top-level module
# `asterix` as `libasterix` (iadsim's encoder, the `asterix` extra) does. The tests of iadsim's
# ASTERIX export run it as a subprocess (tests/test_asterix.py); without it they are skipped.
# It builds from source: a C++ compiler and the expat headers (Debian: g++, libexpat1-dev, which
# scripts/install-system-deps.sh installs).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${ASTERIX_DECODER_VENV:-$here/.venv-asterix-decoder}"
python="${PYTHON:-python3}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import asterix; asterix.parse" 2>/dev/null; then
    exit 0
fi
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "asterix-decoder>=0.7.11"
"$venv/bin/python" -c "import asterix; print('asterix-decoder', asterix.__version__ if hasattr(asterix, '__version__') else '')"
