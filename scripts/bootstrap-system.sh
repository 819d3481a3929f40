#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real: Chromium and its driver
# (browser flows), SoftHSM2 (PKCS#11), poppler (pdfsig, pdftoppm, pdftotext),
# OpenSSL and its GOST engine (interoperability, the OCSP responder).
# Idempotent; skipped when all are present. Needs root (or sudo) and Debian's apt.
set -euo pipefail
need=()
command -v chromium >/dev/null       || need+=(chromium)
command -v chromedriver >/dev/null   || need+=(chromium-driver)
command -v softhsm2-util >/dev/null  || need+=(softhsm2)
command -v pkcs11-tool >/dev/null    || need+=(opensc)
command -v pdfsig >/dev/null         || need+=(poppler-utils)
command -v openssl >/dev/null        || need+=(openssl)
# The GOST engine for OpenSSL 3 (GOST R 34.10/34.11-2012 interoperability tests).
compgen -G "/usr/lib/*/engines-3/gost.so" >/dev/null || need+=(libengine-gost-openssl)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "bootstrap: installing ${need[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
