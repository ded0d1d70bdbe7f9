#!/usr/bin/env bash
# Installs the Debian packages that tests and benchmarks use besides Python: Chromium, which the
# viewer's browser tests drive through Playwright (launched by path; Playwright never downloads a
# browser), GDAL's command-line tools (gdal_viewshed, the peer of the viewshed kernel), tshark
# (Wireshark's ASTERIX and DIS dissectors check the exports) and g++ with the expat headers (to
# build the independent ASTERIX decoder of scripts/make-asterix-decoder-venv.sh). Python
# dependencies come from pyproject.toml; nothing here is needed to use iadsim.
set -euo pipefail
wanted=()
command -v chromium >/dev/null 2>&1 || wanted+=(chromium)
command -v gdal_viewshed >/dev/null 2>&1 || wanted+=(gdal-bin)
command -v tshark >/dev/null 2>&1 || wanted+=(tshark)
command -v g++ >/dev/null 2>&1 || wanted+=(g++)
[ -e /usr/include/expat.h ] || wanted+=(libexpat1-dev)
if [ "${#wanted[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: not root or no apt-get; without ${wanted[*]} the browser tests" \
         "and GDAL comparisons will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether non-root users may capture; answer no without a prompt
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
for tool in chromium gdalinfo tshark; do
    if command -v "$tool" >/dev/null 2>&1; then
        echo "install-system-deps: $("$tool" --version 2>/dev/null | head -1)"
    fi
done
