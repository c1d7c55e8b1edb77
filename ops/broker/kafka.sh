#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on 127.0.0.1.
#
#   ops/broker/kafka.sh fetch    fetch Kafka's jars from Maven Central into the cache (once)
#   ops/broker/kafka.sh start    fetch if needed, format the data directory if new, start, wait until ready
#   ops/broker/kafka.sh stop     stop the broker started from this data directory
#   ops/broker/kafka.sh status   exit 0 when the broker answers on its port
#
# Environment (all optional):
#   PTS_BROKER_PORT      client port (default 9092); the controller listens on the next port
#   PTS_BROKER_DIR       data, config, log and pid file (default .pts/broker in the repository)
#   PTS_KAFKA_CACHE      where the jars are cached (default ~/.cache/pts/kafka-<version>)
#   PTS_BROKER_HEAP      JVM heap (default 512m)
#   PTS_BROKER_SASL_USERS  "user:password ..." makes the client listener SASL_PLAINTEXT with
#                        PLAIN for those users (default: PLAINTEXT, no authentication)
#   PTS_BROKER_WATCH_PID   stop the broker when this process is gone (the test session sets it)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
port="${PTS_BROKER_PORT:-9092}"
controller_port="$((port + 1))"
broker_dir="${PTS_BROKER_DIR:-$repo/.pts/broker}"
cache="${PTS_KAFKA_CACHE:-$HOME/.cache/pts/kafka-$version}"
pid_file="$broker_dir/broker.pid"

say() { echo "kafka.sh: $*" >&2; }

fetch() {
  if [ -f "$cache/.complete" ]; then return 0; fi
  say "fetching Apache Kafka $version jars from Maven Central into $cache"
  mkdir -p "$cache"
  if ! mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$cache" \
    >"$cache/maven.log" 2>&1; then
    tail -n 20 "$cache/maven.log" >&2
    say "could not fetch Kafka's jars with Maven (is Maven Central reachable?); log: $cache/maven.log"
    exit 1
  fi
  touch "$cache/.complete"
}

answers() {
  # A TCP connect is enough to know the listener is up; readiness of metadata is checked by callers.
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

sasl_config() {
  # The broker talks to itself over the client listener, so it gets a user of its own.
  local secret users="" pair
  secret="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  for pair in $PTS_BROKER_SASL_USERS; do users+=" user_${pair%%:*}=\"${pair#*:}\""; done
  cat <<CONF
sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.client.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="pts-broker" password="$secret" user_pts-broker="$secret"$users;
CONF
}

write_config() {
  mkdir -p "$broker_dir/data"
  local client_protocol=PLAINTEXT
  if [ -n "${PTS_BROKER_SASL_USERS:-}" ]; then client_protocol=SASL_PLAINTEXT; fi
  cat > "$broker_dir/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=CLIENT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=CLIENT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,CLIENT:$client_protocol
log.dirs=$broker_dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.cleaner.backoff.ms=1000
CONF
  if [ -n "${PTS_BROKER_SASL_USERS:-}" ]; then sasl_config >> "$broker_dir/server.properties"; fi
  cat > "$broker_dir/log4j2.properties" <<CONF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $broker_dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
CONF
}

java_cmd() {
  java "-Xmx${PTS_BROKER_HEAP:-512m}" -XX:+UseG1GC \
    "-Dlog4j2.configurationFile=$broker_dir/log4j2.properties" -cp "$cache/*" "$@"
}

watch_owner() {
  # Stop the broker when the process that owns it is gone, even if it died without stopping
  # it (a test session killed by a timeout or a crash).
  local owner="$1" broker="$2"
  nohup bash -c "while kill -0 $owner 2>/dev/null && kill -0 $broker 2>/dev/null; do sleep 2; done; \
    pkill -TERM -P $broker 2>/dev/null; kill -TERM $broker 2>/dev/null" >/dev/null 2>&1 &
}

start() {
  if answers; then say "a broker already answers on 127.0.0.1:$port"; return 0; fi
  fetch
  write_config
  if [ ! -f "$broker_dir/data/meta.properties" ]; then
    cluster_id="$(java_cmd kafka.tools.StorageTool random-uuid)"
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$broker_dir/server.properties" >/dev/null
  fi
  say "starting Kafka $version on 127.0.0.1:$port${PTS_BROKER_SASL_USERS:+ (SASL_PLAINTEXT, PLAIN)} (data in $broker_dir)"
  nohup bash -c "$(declare -f java_cmd); broker_dir='$broker_dir'; cache='$cache'; \
    java_cmd kafka.Kafka '$broker_dir/server.properties'" >"$broker_dir/stdout.log" 2>&1 &
  echo $! > "$pid_file"
  if [ -n "${PTS_BROKER_WATCH_PID:-}" ]; then watch_owner "$PTS_BROKER_WATCH_PID" "$!"; fi
  for _ in $(seq 1 120); do
    if answers; then say "ready on 127.0.0.1:$port"; return 0; fi
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      say "the broker exited during start; last lines of its logs:"; tail -n 20 "$broker_dir/stdout.log" "$broker_dir/broker.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  say "the broker did not answer within 60 s; see $broker_dir/broker.log"; exit 1
}

stop() {
  if [ ! -f "$pid_file" ]; then say "no broker was started from $broker_dir"; return 0; fi
  pid="$(cat "$pid_file")"
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    if ! answers; then break; fi
    sleep 0.5
  done
  rm -f "$pid_file"
  say "stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
