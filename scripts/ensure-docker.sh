#!/usr/bin/env bash
# Make sure a Docker engine answers, and that the Debian bookworm base image exists.
# Installs Debian's docker.io and debootstrap when missing (needs root and apt), starts
# dockerd without container networking, and imports a debootstrapped bookworm as
# mwaadeps-base:bookworm-toolchain: Python 3.11, pip, no EXTERNALLY-MANAGED marker, and the
# build toolchain MWAA's image has (gcc, make, Python headers, pkg-config and the MariaDB,
# PostgreSQL and libcurl development files), so pip compiles sdists there as on MWAA.
# Exit 0 when the engine answers and the base image exists; non-zero otherwise.
set -euo pipefail

BASE_TAG="${MWAADEPS_BASE_IMAGE:-mwaadeps-base:bookworm-toolchain}"
# MWAA's image: `dnf builddep python3` (gcc, make, headers), MariaDB devel, postgresql-devel,
# libcurl-devel. libmariadb-dev-compat adds mysql_config and the mysqlclient pkg-config name.
PACKAGES="python3,python3-pip,python3-venv,ca-certificates,gcc,make,libc6-dev,python3-dev"
PACKAGES="$PACKAGES,pkg-config,libmariadb-dev,libmariadb-dev-compat,libpq-dev,libcurl4-openssl-dev"
LOG_DIR="${MWAADEPS_DOCKER_LOG_DIR:-/tmp/mwaadeps-docker}"
mkdir -p "$LOG_DIR"

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

if ! engine_up; then
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    echo "ensure-docker: installing docker.io and debootstrap from Debian" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq docker.io debootstrap >"$LOG_DIR/apt.log" 2>&1
  fi
  echo "ensure-docker: starting dockerd (no bridge, no iptables)" >&2
  # setsid: the engine outlives the shell (and process group) that started it.
  as_root sh -c "setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >>'$LOG_DIR/dockerd.log' 2>&1 < /dev/null &"
  for _ in $(seq 1 60); do engine_up && break; sleep 1; done
  engine_up || { echo "ensure-docker: dockerd did not answer; see $LOG_DIR/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq debootstrap >"$LOG_DIR/apt.log" 2>&1; }
  root="$LOG_DIR/rootfs-${BASE_TAG//[^A-Za-z0-9_.-]/_}"
  as_root rm -rf "$root"
  echo "ensure-docker: debootstrap bookworm ($PACKAGES) into $root" >&2
  as_root debootstrap --variant=minbase --include="$PACKAGES" \
    bookworm "$root" >"$LOG_DIR/debootstrap.log" 2>&1
  # MWAA's image has no EXTERNALLY-MANAGED marker: remove it so pip behaves as on MWAA.
  as_root sh -c "rm -f '$root'/usr/lib/python3*/EXTERNALLY-MANAGED; ln -sf python3 '$root/usr/bin/python'; \
    rm -rf '$root'/var/cache/apt/archives/*.deb '$root'/var/lib/apt/lists/*"
  as_root tar -C "$root" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
  as_root rm -rf "$root"
fi
docker image inspect "$BASE_TAG" --format "ensure-docker: engine up, base image {{index .RepoTags 0}}" >&2
