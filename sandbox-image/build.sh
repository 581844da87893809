#!/usr/bin/env bash
# Build the Docker-mode Python sandbox image from Debian's archive alone, because no
# container registry is needed. The script debootstraps a minimal Debian root file system
# with python3 and the supported libraries and imports it as a base image. Then
# `docker build` adds the sandbox layer (runtime.py, user 1001, entrypoint) on top.
#
# The base image is tagged with a hash of everything that goes into it, so it is built
# once and reused. Changing the runtime files only rebuilds the thin sandbox layer.
#
# Environment:
#   PYTHON_SANDBOX_IMAGE    tag of the result (default: the value in .env or .env.defaults)
#   SANDBOX_DEBIAN_SUITE    Debian release (default trixie)
#   SANDBOX_DEBIAN_MIRROR   archive URL (default: the first Debian mirror in /etc/apt/sources.list*)
#   SANDBOX_RUNTIME_DIR     folder with runtime.py and optional table.py
#                           (default apps/backend/src/execution/python)
#   SANDBOX_WORK_DIR        scratch space for the root filesystem (default /var/tmp)
#   DOCKER_HOST             engine to use, as for the docker CLI
#
# With --print-base-image it only prints the tag the base image would have.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/.." && pwd)
suite=${SANDBOX_DEBIAN_SUITE:-trixie}
runtime_dir=${SANDBOX_RUNTIME_DIR:-$repo_root/apps/backend/src/execution/python}
work_parent=${SANDBOX_WORK_DIR:-/var/tmp}
base_repository=policy-logic-studio/python-sandbox-base

# Debian package names of the supported libraries; python3-sklearn is scikit-learn.
debian_packages=(
  python3
  python3-numpy python3-scipy python3-sympy python3-pandas python3-pint python3-cftime
  python3-astropy python3-statsmodels python3-networkx python3-sklearn python3-xarray
  python3-geopandas python3-rasterio python3-rioxarray python3-matplotlib
  python3-dateutil python3-six
)

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

log() { printf 'sandbox-image: %s\n' "$*" >&2; }
fail() { log "error: $*"; exit 1; }

# Print the first Debian archive URL in the machine's apt sources (deb822 or one-line form).
find_mirror() {
  local url
  url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE '(https?)://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)
  printf '%s' "${url:-http://deb.debian.org/debian}"
}

# Print the Debian security archive URL that sits beside the main mirror, if the machine names one.
find_security_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE '(https?)://[^ ]+/debian-security/?( |$)' | head -n 1 | tr -d ' ' || true
}

mirror=${SANDBOX_DEBIAN_MIRROR:-$(find_mirror)}
security_mirror=$(find_security_mirror)

check_prerequisites() {
  command -v docker >/dev/null || fail "the docker CLI is missing; run scripts/docker-engine.sh first"
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    fail "no Docker engine responds (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}); run scripts/docker-engine.sh first"
  [ -f "$runtime_dir/runtime.py" ] || fail "$runtime_dir/runtime.py not found; set SANDBOX_RUNTIME_DIR to the folder that contains it"
}


build_base() {
  [ "$(id -u)" -eq 0 ] || fail "building the base image runs debootstrap and chroot, which need root"
  command -v debootstrap >/dev/null || fail "debootstrap is missing; install it with apt-get install debootstrap (scripts/docker-engine.sh does this)"

  local rootfs
  rootfs=$(mktemp -d "$work_parent/policy-logic-studio-rootfs.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the trap must clean this run's folder
  trap "umount '$rootfs/proc' 2>/dev/null || true; rm -rf '$rootfs'" EXIT
  # Without these, a signal ends the script without running the EXIT trap.
  trap 'exit 130' INT
  trap 'exit 143' TERM

  log "debootstrap $suite from $mirror into $rootfs"
  debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" >"$rootfs.debootstrap.log" 2>&1 ||
    { tail -n 30 "$rootfs.debootstrap.log" >&2; fail "debootstrap of $suite from $mirror failed; full log in $rootfs.debootstrap.log"; }
  rm -f "$rootfs.debootstrap.log"

  # apt inside the chroot resolves the libraries' dependencies better than debootstrap does.
  {
    echo "deb $mirror $suite main"
    echo "deb $mirror $suite-updates main"
    [ -n "$security_mirror" ] && echo "deb $security_mirror $suite-security main"
  } >"$rootfs/etc/apt/sources.list"
  # Package scripts must not start services inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  mount -t proc proc "$rootfs/proc"

  log "installing ${debian_packages[*]}"
  # The chroot has no _apt user set up for sandboxed downloads yet, so apt downloads as root.
  chroot "$rootfs" apt-get -o APT::Sandbox::User=root update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" \
    apt-get -o APT::Sandbox::User=root install -y -qq --no-install-recommends "${debian_packages[@]}" >/dev/null
  chroot "$rootfs" useradd --uid 1001 --user-group --home-dir /tmp --no-create-home \
    --shell /usr/sbin/nologin sandbox

  write_package_versions "$rootfs"
  umount "$rootfs/proc"
  strip_rootfs "$rootfs"
  check_imports "$rootfs"

  log "importing the root filesystem as $base_image"
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    - "$base_image" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  remove_other_base_images
}

# Base images of earlier package lists take about 1 GB each; keep only the current one.
remove_other_base_images() {
  local tag
  docker image ls --format '{{.Repository}}:{{.Tag}}' "$base_repository" | while read -r tag; do
    [ "$tag" = "$base_image" ] || docker image rm "$tag" >/dev/null 2>&1 || true
  done
}

# Record the installed library versions in /opt/sandbox/packages.json. The sandbox layer
# copies the same text into an image label, so the backend reads it without a run.
write_package_versions() {
  local rootfs=$1
  mkdir -p "$rootfs/opt/sandbox"
  chroot "$rootfs" python3 - "$suite" >"$rootfs/opt/sandbox/packages.json" <<'PYTHON'
import importlib.metadata
import json
import platform
import sys

distributions = [
    "numpy", "scipy", "sympy", "pandas", "Pint", "cftime", "astropy", "statsmodels",
    "networkx", "scikit-learn", "xarray", "geopandas", "rasterio", "rioxarray",
    "matplotlib", "python-dateutil", "six",
]
versions = {}
for name in distributions:
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        versions[name] = None
json.dump({"debian": sys.argv[1], "python": platform.python_version(), "packages": versions},
          sys.stdout, indent=2, sort_keys=True)
PYTHON
  grep -q '"numpy": "' "$rootfs/opt/sandbox/packages.json" || fail "numpy is not importable in the new root filesystem"
}

# Drop what a sandbox never reads: apt lists and caches, manuals, docs except licences.
strip_rootfs() {
  local rootfs=$1
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/* \
    "$rootfs"/usr/share/man "$rootfs"/usr/share/info "$rootfs"/usr/share/locale \
    "$rootfs"/usr/sbin/policy-rc.d
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
  find "$rootfs/usr/share/doc" -type d -empty -delete 2>/dev/null || true
  remove_library_tests "$rootfs"
}

# The libraries' own test suites are about a quarter of the image. A tests package that
# library code imports (numpy.testing imports numpy._core.tests, astropy imports
# astropy.tests) is kept, and check_imports then proves that every library still imports.
remove_library_tests() {
  chroot "$1" python3 - <<'PYTHON'
import os
import re
import shutil
import sys

site = "/usr/lib/python3/dist-packages"
absolute_import = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*\.tests)\b", re.MULTILINE)
relative_import = re.compile(r"^\s*from\s+(\.+)tests\b", re.MULTILINE)

test_folders = []
imported = set()
for folder, subfolders, files in os.walk(site):
    if os.path.basename(folder) == "tests":
        test_folders.append(folder)
        subfolders[:] = []
        continue
    for name in files:
        if not name.endswith(".py") or name == "conftest.py":
            continue
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        for module in absolute_import.findall(text):
            imported.add(os.path.join(site, *module.split(".")))
        for dots in relative_import.findall(text):
            base = folder
            for _ in range(len(dots) - 1):
                base = os.path.dirname(base)
            imported.add(os.path.join(base, "tests"))

kept = [folder for folder in test_folders if folder in imported]
for folder in test_folders:
    if folder not in imported:
        shutil.rmtree(folder)
print(f"removed {len(test_folders) - len(kept)} test folders, kept {len(kept)}: {sorted(kept)}", file=sys.stderr)
PYTHON
}

check_imports() {
  local rootfs=$1
  # matplotlib caches fonts under HOME, which must stay out of the image.
  HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib-build chroot "$rootfs" python3 -c 'import numpy, scipy, scipy.optimize, scipy.stats, sympy, pandas, pint, cftime, astropy, astropy.units, statsmodels.api, networkx, sklearn, sklearn.linear_model, xarray, geopandas, rasterio, rioxarray, matplotlib.pyplot, dateutil, six' ||
    fail "a library no longer imports after the image was trimmed; see the traceback above"
  rm -rf "$rootfs/tmp/matplotlib-build"
}

build_layer() {
  local context
  context=$(mktemp -d "$work_parent/policy-logic-studio-context.XXXXXX")
  mkdir -p "$context/runtime"
  cp "$here/Dockerfile" "$context/Dockerfile"
  cp "$runtime_dir/runtime.py" "$context/runtime/"
  [ -f "$runtime_dir/table.py" ] && cp "$runtime_dir/table.py" "$context/runtime/"

  # The label lets the backend and scripts/docker-engine.sh tell a stale image apart.
  local runtime_sha packages_json
  runtime_sha=$(cat "$context"/runtime/* "$context/Dockerfile" | sha256sum | cut -c1-64)
  packages_json=$(docker run --rm --network none --log-driver none --entrypoint cat "$base_image" /opt/sandbox/packages.json | tr -d '\n ')

  local previous_id
  previous_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)

  log "building $image on $base_image"
  # The legacy builder needs no network: the one RUN step compiles the runtime files.
  if ! DOCKER_BUILDKIT=0 docker build --quiet --network none \
    --build-arg "BASE_IMAGE=$base_image" \
    --label "org.policy-logic-studio.runtime-sha256=$runtime_sha" \
    --label "org.policy-logic-studio.packages=$packages_json" \
    --label "org.policy-logic-studio.base-image=$base_image" \
    --tag "$image" "$context" >"$context.log" 2>&1; then
    cat "$context.log" >&2
    rm -rf "$context" "$context.log"
    fail "docker build of $image failed"
  fi
  rm -rf "$context" "$context.log"

  # The previous sandbox layer is now untagged; remove it unless a container still uses it.
  if [ -n "$previous_id" ] && [ "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$image")" ]; then
    docker image rm "$previous_id" >/dev/null 2>&1 || true
  fi
}

# Everything that changes the base image goes into its tag. `declare -f` prints the
# functions without comments, so editing a comment does not force a new debootstrap.
base_key=$(
  {
    printf '%s\n' "$suite" "${debian_packages[@]}" "$security_mirror"
    declare -f build_base write_package_versions strip_rootfs remove_library_tests check_imports
  } | sha256sum | cut -c1-12
)
base_image="$base_repository:$suite-$base_key"

# scripts/docker-engine.sh compares this tag with an image's label to find a stale base.
if [ "${1:-}" = --print-base-image ]; then
  printf '%s\n' "$base_image"
  exit 0
fi
check_prerequisites

started=$(date +%s)
if docker image inspect "$base_image" >/dev/null 2>&1; then
  log "base image $base_image present; skipping debootstrap"
else
  build_base
fi
base_done=$(date +%s)
build_layer
finished=$(date +%s)

size_bytes=$(docker image inspect --format '{{.Size}}' "$image")
log "built $image in $((finished - started))s (base $((base_done - started))s), size $((size_bytes / 1024 / 1024)) MiB"
