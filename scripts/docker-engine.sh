#!/usr/bin/env bash
# Start a Docker engine on the local socket when none responds, then build the Python
# sandbox image when it is missing or contains other runtime files. Safe to run again: every step checks before it acts.
#
# Environment:
#   DOCKER_SOCKET_PATH     engine socket (default /var/run/docker.sock)
#   PYTHON_SANDBOX_IMAGE   image to check and build (default: the value in .env or .env.defaults)
#   DOCKERD_LOG            where a dockerd started here writes its log (default /var/log/policy-logic-studio-dockerd.log)
#   SKIP_SANDBOX_IMAGE=1   start the engine only
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
socket=${DOCKER_SOCKET_PATH:-/var/run/docker.sock}
dockerd_log=${DOCKERD_LOG:-/var/log/policy-logic-studio-dockerd.log}
pid_file=/var/run/docker.pid
engine_wait_s=60

# Print PYTHON_SANDBOX_IMAGE as the service reads it: the environment, then .env, then
# the committed .env.defaults, so the image built here is the one the service runs.
configured_image() {
  local file value
  if [ -n "${PYTHON_SANDBOX_IMAGE:-}" ]; then
    printf '%s' "$PYTHON_SANDBOX_IMAGE"
    return
  fi
  for file in "$repo_root/.env" "$repo_root/.env.defaults"; do
    [ -f "$file" ] || continue
    value=$(sed -n 's/^[[:space:]]*PYTHON_SANDBOX_IMAGE[[:space:]]*=[[:space:]]*//p' "$file" | tail -n 1 | tr -d '"'"'"'\r')
    if [ -n "$value" ]; then
      printf '%s' "$value"
      return
    fi
  done
  printf 'policy-logic-studio/python-sandbox:latest'
}

image=$(configured_image)

log() { printf 'docker-engine: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

engine_responds() {
  command -v docker >/dev/null 2>&1 && docker -H "unix://$socket" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0

  [ "$(id -u)" -eq 0 ] || fail "missing ${missing[*]} and not root, so apt-get cannot install them; install them or start a Docker engine on $socket, then run this script again"
  log "installing ${missing[*]} from Debian's archive"
  # The lock timeout lets this wait for another apt-get on the same machine instead of failing.
  flock /tmp/apt.lock apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive flock /tmp/apt.lock \
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A dockerd that was killed leaves its pid file, and so does the containerd it started.
# Each refuses to start while its file names a process that still exists, even a zombie
# that nobody has reaped, so such files are removed.
clear_stale_pid_file() {
  local file=$1 pid state
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  state=$(ps -o stat= -p "${pid:-0}" 2>/dev/null | cut -c1 || true)
  if [ -z "$state" ] || [ "$state" = Z ]; then
    log "removing stale $file (process ${pid:-?} is gone)"
    rm -f "$file"
  fi
}

start_engine() {
  [ "$(id -u)" -eq 0 ] || fail "no Docker engine responds on $socket and starting dockerd needs root; start an engine or run this script as root"
  clear_stale_pid_file "$pid_file"
  clear_stale_pid_file /var/run/docker/containerd/containerd.pid
  log "starting dockerd (log: $dockerd_log)"
  # No iptables and no default bridge: sandbox containers run with NetworkMode none, and
  # this keeps the engine from rewriting the host's firewall.
  setsid nohup dockerd \
    --host "unix://$socket" \
    --pidfile "$pid_file" \
    --iptables=false --ip6tables=false --bridge=none \
    --storage-driver=overlay2 \
    >>"$dockerd_log" 2>&1 </dev/null &
  local dockerd_pid=$!

  local waited=0
  until engine_responds; do
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      tail -n 20 "$dockerd_log" >&2 || true
      fail "dockerd exited during start-up; see $dockerd_log"
    fi
    if [ "$waited" -ge "$engine_wait_s" ]; then
      tail -n 20 "$dockerd_log" >&2 || true
      fail "dockerd did not respond on $socket within ${engine_wait_s}s; see $dockerd_log"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "engine responds after ${waited}s"
}

if engine_responds; then
  log "engine already responds on $socket"
else
  install_packages
  start_engine
fi

if [ "${SKIP_SANDBOX_IMAGE:-0}" = 1 ]; then
  exit 0
fi

# The image is rebuilt when its runtime files, its Dockerfile or its base image (Debian
# release, package list, build steps) differ from what build.sh would produce now. When
# only the runtime files or the Dockerfile changed, build.sh reuses the base image, so
# that takes seconds.
runtime_dir=$repo_root/apps/backend/src/execution/python
expected_sha=$(cat "$runtime_dir/runtime.py" $([ -f "$runtime_dir/table.py" ] && echo "$runtime_dir/table.py") "$repo_root/sandbox-image/Dockerfile" | sha256sum | cut -c1-64)
expected_base=$(bash "$repo_root/sandbox-image/build.sh" --print-base-image)
image_labels=$(docker -H "unix://$socket" image inspect \
  --format '{{ index .Config.Labels "org.policy-logic-studio.runtime-sha256" }} {{ index .Config.Labels "org.policy-logic-studio.base-image" }}' \
  "$image" 2>/dev/null || true)
read -r image_sha image_base <<<"$image_labels" || true

if [ -z "${image_sha:-}" ]; then
  log "image $image missing; building it"
elif [ "${image_base:-}" != "$expected_base" ]; then
  log "image $image is built on ${image_base:-an unknown base}, not $expected_base; rebuilding it"
elif [ "$image_sha" != "$expected_sha" ]; then
  log "image $image contains other runtime files than $runtime_dir or another Dockerfile; rebuilding its sandbox layer"
else
  log "image $image present and current"
  exit 0
fi
# debootstrap is needed only when the base image has to be built as well.
if ! docker -H "unix://$socket" image inspect "$expected_base" >/dev/null 2>&1; then
  install_packages
fi
DOCKER_HOST="unix://$socket" PYTHON_SANDBOX_IMAGE="$image" bash "$repo_root/sandbox-image/build.sh"
