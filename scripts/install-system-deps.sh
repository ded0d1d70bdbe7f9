#!/usr/bin/env bash
# Installs the Debian packages that tests and benchmarks compare against: GDAL's command-line
# tools (gdal_viewshed, the peer of the viewshed kernel). Python dependencies come from
# pyproject.toml; nothing here is needed to use iadsim.
set -euo pipefail
if command -v gdal_viewshed >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: not root or no apt-get; the GDAL comparisons will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends gdal-bin >/dev/null
echo "install-system-deps: $(gdalinfo --version)"
