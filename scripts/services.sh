#!/usr/bin/env bash
# Makes sure every server the tests use is up on 127.0.0.1, starting what is not:
# PostgreSQL 5432, Redis 6379, RabbitMQ 5672 (started on the project's machines
# before any work, restarted here if they stopped) and ZooKeeper 2181 (installed
# from Debian's packages and started here). Safe to run again: it only acts on
# what is missing. Prints one line per server.
set -euo pipefail
D="${WHALESHARK_SERVICES_DIR:-/tmp/whaleshark-services}"
mkdir -p "$D"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { # name seconds probe...
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    if ((SECONDS >= deadline)); then echo "services: $name did not come up within ${secs}s" >&2; return 1; fi
    sleep 0.2
  done
  echo "services: $name ready"
}
need_root() { if [[ $(id -u) -ne 0 ]]; then echo "services: $1 is not running and starting it needs root" >&2; exit 1; fi; }
apt_install() {
  need_root "apt-get install $*"
  if [[ ! -f "$D/.apt-updated" ]]; then apt-get update -qq && touch "$D/.apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  need_root postgresql
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
fi
wait_for postgresql 60 pg_isready -q -h 127.0.0.1 -p 5432

# Redis
if ! port_open 6379; then
  need_root redis
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$D" --logfile "$D/redis.log"
fi
wait_for redis 30 bash -c 'redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG'

# RabbitMQ
if ! port_open 5672; then
  need_root rabbitmq
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbitmq-server -detached
fi
wait_for rabbitmq 90 port_open 5672

# Debian's Python gRPC toolchain, for the polyglot client test (test/domain/polyglot.test.ts).
if [[ ! -x /usr/bin/grpc_python_plugin ]] || ! command -v protoc >/dev/null ||
  ! /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null; then
  apt_install python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc
fi
echo "services: python grpc tools ready"

# ZooKeeper (not preinstalled): apt's `zookeeper` package, run standalone.
zk_ok() { [[ "$( (exec 3<>/dev/tcp/127.0.0.1/2181 && printf ruok >&3 && timeout 2 cat <&3) 2>/dev/null)" == imok ]]; }
if ! zk_ok; then
  [[ -f /usr/share/java/zookeeper.jar ]] || apt_install zookeeper
  command -v java >/dev/null || apt_install default-jre-headless
  mkdir -p "$D/zk/data"
  cat >"$D/zoo.cfg" <<CFG
tickTime=2000
dataDir=$D/zk/data
clientPort=2181
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
CFG
  # setsid: the server must outlive this script and the test run that called it.
  setsid nohup java -Xmx256m -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar" \
    -Dzookeeper.log.dir="$D" -Dzookeeper.root.logger=INFO,CONSOLE \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$D/zoo.cfg" >"$D/zk.out" 2>&1 </dev/null &
  echo $! >"$D/zk.pid"
fi
wait_for zookeeper 60 zk_ok

# Chromium for the web console's browser tests (test/console, driven by playwright-core, which
# downloads no browser): Debian's package, plus fonts so the screenshots show CJK and emoji
# instead of empty boxes. The test fails, never skips, when /usr/bin/chromium is missing.
if [[ ! -x /usr/bin/chromium ]]; then apt_install chromium; fi
if [[ $(id -u) -eq 0 ]] && ! fc-list 2>/dev/null | grep -qi "noto color emoji"; then
  apt_install fonts-noto-color-emoji fonts-noto-cjk || echo "services: fonts not installed (screenshots may show boxes)"
fi
echo "services: chromium ready"

# promtool for the monitoring test (test/deploy/monitoring.test.ts checks and unit-tests the alert
# rules with it): Debian's prometheus package, whose server is not started here (nor needed).
if ! command -v promtool >/dev/null; then apt_install prometheus; fi
echo "services: promtool ready"
