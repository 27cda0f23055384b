#!/usr/bin/env bash
# Load test on loopback: a throwaway redis-server, one boxoffice instance, wrk against the
# authenticated hot path. Usage: bash docs/bench/load.sh [seconds] [connections]
# Needs redis-server, wrk, curl and jq (Debian packages). Stops everything it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"; conns="${2:-32}"
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

rport="$(free_port)"; aport="$(free_port)"
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
go build -o "$work/boxoffice" ./cmd/boxoffice
REDIS_URL="redis://127.0.0.1:$rport" BOXOFFICE_JWT_SECRET="load-test-secret-0123456789abcdefghij" \
  BOXOFFICE_ADDR="127.0.0.1:$aport" BOXOFFICE_LOG_LEVEL=warn "$work/boxoffice" 2>"$work/boxoffice.log" &
pids+=($!)
B="http://127.0.0.1:$aport"
for _ in $(seq 100); do curl -sf "$B/readyz" >/dev/null && break; sleep 0.1; done

curl -sf -X POST "$B/v1/users" -H 'Content-Type: application/json' -d '{"username":"loadtest","password":"load-test-password"}' >/dev/null
TOKEN="$(curl -sf -X POST "$B/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"username":"loadtest","password":"load-test-password"}' | jq -r .access_token)"
curl -sf -X PATCH "$B/v1/session/data" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"cart":{"show":42,"seats":["F7","F8"]},"theme":"dark"}' >/dev/null

echo "== GET /healthz (no Redis)"
wrk -t2 -c"$conns" -d"${secs}s" --latency "$B/healthz" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== GET /v1/session (JWT + one Redis round trip)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $TOKEN" "$B/v1/session" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== GET /v1/me (session and account, one pipelined round trip)"
wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $TOKEN" "$B/v1/me" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
