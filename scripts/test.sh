#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set-up, formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# Tesseract's OpenMP threads slow OCR down on top of parallel tests; the server sets this itself.
export OMP_THREAD_LIMIT=1
# A real S3-compatible server for the storage tests (SeaweedFS), on loopback only, without
# telemetry, stopped when the suite ends.
weed=${DOCKET_SEAWEEDFS_VENV:-/usr/local/lib/docket/seaweedfs}/bin/weed
s3_dir=$(mktemp -d)
# Free ports whose gRPC twins (port + 10000) are free too.
read -r s3_port master_port filer_port volume_port admin_port < <(python3 - <<'PY'
import socket
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port)); return True
        except OSError:
            return False
found = []
while len(found) < 5:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    if port < 55000 and port not in found and free(port + 10000):
        found.append(port)
print(*found)
PY
)
export AWS_ACCESS_KEY_ID=docket-test AWS_SECRET_ACCESS_KEY=docket-test-secret
export AWS_REGION=us-east-1 AWS_ENDPOINT="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true
export DOCKET_TEST_S3_BUCKET=docket-test
"$weed" mini -dir="$s3_dir" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
  -s3.port="$s3_port" -master.port="$master_port" -filer.port="$filer_port" \
  -volume.port="$volume_port" -admin.port="$admin_port" -admin.ui=false -webdav=false \
  -s3.port.iceberg=0 -s3.port.lance=0 -bucket="$DOCKET_TEST_S3_BUCKET" >"$s3_dir/weed.log" 2>&1 &
weed_pid=$!
# A real PostgreSQL (Debian's) for the store's contract tests, the multi-process tests and the
# API suite's second pass: a throwaway cluster on loopback, run by the postgres user.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_dir=$(mktemp -d)
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres --no-locale -E UTF8 >/dev/null
cleanup() {
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  kill "$weed_pid" 2>/dev/null; wait "$weed_pid" 2>/dev/null
  rm -rf "$s3_dir" "$pg_dir"
}
trap cleanup EXIT
as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" \
  start >/dev/null
export DOCKET_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
for _ in $(seq 600); do
  curl -s -o /dev/null "$AWS_ENDPOINT/$DOCKET_TEST_S3_BUCKET" && break
  kill -0 "$weed_pid" 2>/dev/null || { cat "$s3_dir/weed.log" >&2; exit 1; }
  sleep 0.1
done

cargo fmt --all -- --check
cargo clippy --locked --workspace --all-targets -- -D warnings
# The API suite once more with every test server on PostgreSQL (the run below is on SQLite);
# the same build.
DOCKET_TEST_BACKEND=postgres cargo test --locked -p docket --test api
cargo test --locked --workspace --all-targets
