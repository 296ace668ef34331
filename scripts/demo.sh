#!/usr/bin/env bash
# make demo: the main job end to end on local defaults (no AWS account needed).
# Copies examples/dsai-dev into .demo/ and runs mwaadeps there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/.demo"
rm -rf "$work" && mkdir -p "$work" && cp -r "$root/examples/dsai-dev" "$work/dsai-dev"
cd "$work/dsai-dev"
rm -rf dist

# mwaadeps ships the Airflow constraints of every MWAA version it knows: no network needed.
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "mwaadeps check"
mwaadeps check
step "mwaadeps build"
mwaadeps build
step "mwaadeps build again (no-op: lock reused, nothing downloaded)"
mwaadeps build

if docker version >/dev/null 2>&1 && mwaadeps test-local --help >/dev/null 2>&1; then
  step "mwaadeps runner build (MWAA-like image for Airflow 2.9.2)"
  echo "No registry is needed: the base image is Debian bookworm from debootstrap (see"
  echo "scripts/ensure-docker.sh); without --base-image, runner build says how to make one."
  mwaadeps runner build --airflow-version 2.9.2 --base-image "${MWAADEPS_BASE_IMAGE:-mwaadeps-base:bookworm-toolchain}"
  step "mwaadeps test-local (no network, MWAA's install order, DAG import)"
  mwaadeps test-local
else
  echo "(no Docker engine: skipping test-local)"
fi

if mwaadeps sandbox --help >/dev/null 2>&1; then
  bash "$root/scripts/demo-deploy.sh"
fi
