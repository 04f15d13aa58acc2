#!/usr/bin/env bash
# Starts the cluster topology as plain local processes (where no Docker engine runs):
# nats-server, redis-server, N broker nodes and one gateway, all on 127.0.0.1.
#
#   deploy/local-cluster.sh start [N]   # default 3 nodes; MQTT on 1883+i, WebSocket on 8083+i, API on 8081
#   deploy/local-cluster.sh stop
#   deploy/local-cluster.sh status
#
# Ports can be moved with BASE_MQTT, BASE_WS, API_PORT, NATS_PORT, REDIS_PORT.
# Logs and pid files go to deploy/.run/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=deploy/.run
NATS_PORT=${NATS_PORT:-4222}
REDIS_PORT=${REDIS_PORT:-6379}
BASE_MQTT=${BASE_MQTT:-1883}
BASE_WS=${BASE_WS:-8083}
API_PORT=${API_PORT:-8081}
export PATH="$PATH:/usr/sbin:/usr/local/sbin"

start_bg() { # name, command...
  local name=$1; shift
  "$@" > "$RUN/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
}

wait_log() { # name, text
  for _ in $(seq 1 100); do grep -q "$2" "$RUN/$1.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "$1 did not start; see $RUN/$1.log" >&2; return 1
}

case "${1:-}" in
  start)
    n=${2:-3}
    mkdir -p "$RUN"
    [ -f dist/node/main.js ] || npm run build --silent
    start_bg nats nats-server -a 127.0.0.1 -p "$NATS_PORT"
    start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
    wait_log nats 'Server is ready'; wait_log redis 'Ready to accept connections'
    export NATS_URL="nats://127.0.0.1:$NATS_PORT" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" STARLING_BIND=127.0.0.1
    for i in $(seq 1 "$n"); do
      STARLING_NODE_NAME="n$i@127.0.0.1" STARLING_MQTT_PORT=$((BASE_MQTT + i - 1)) STARLING_WS_PORT=$((BASE_WS + i - 1)) \
        start_bg "n$i" node dist/node/main.js
    done
    for i in $(seq 1 "$n"); do wait_log "n$i" '"node started"'; done
    STARLING_API_PORT="$API_PORT" start_bg gateway node dist/gateway/main.js
    wait_log gateway '"gateway started"'
    echo "cluster up: $n nodes (MQTT $BASE_MQTT..$((BASE_MQTT + n - 1))), API http://127.0.0.1:$API_PORT (admin:public)"
    ;;
  stop)
    for f in "$RUN"/*.pid; do [ -e "$f" ] || continue; kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
    echo "stopped"
    ;;
  status)
    for f in "$RUN"/*.pid; do [ -e "$f" ] || continue; p=$(cat "$f"); n=$(basename "$f" .pid)
      if kill -0 "$p" 2>/dev/null; then echo "$n running (pid $p)"; else echo "$n dead"; fi; done
    ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
