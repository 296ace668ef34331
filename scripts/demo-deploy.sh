#!/usr/bin/env bash
# The deploy half of `make demo`: a local sandbox (moto + mwaadeps' MWAA emulator) seeded with
# the example's environment, then deploy -> verify -> status -> discover -> a second deploy
# that changes nothing.
# Runs in the folder demo.sh built (dist/ and mwaadeps.toml there).
set -euo pipefail
env_file="$(pwd)/.sandbox.env"
log="$(pwd)/.sandbox.log"
rm -f "$env_file"
mwaadeps sandbox --port 0 --seed . --env-file "$env_file" >"$log" 2>&1 &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true' EXIT

# The sandbox writes the file only once it has seeded the environment.
for _ in $(seq 1 120); do
  [ -s "$env_file" ] && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$log" >&2; echo "demo: the sandbox stopped" >&2; exit 1; }
  sleep 0.5
done
[ -s "$env_file" ] || { cat "$log" >&2; echo "demo: the sandbox did not start" >&2; exit 1; }
# shellcheck disable=SC1090
. "$env_file"
export MWAADEPS_POLL_INTERVAL="${MWAADEPS_POLL_INTERVAL:-1}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
step "sandbox at $AWS_ENDPOINT_URL (seeded: dsai-dev-mwaa, bucket dsai-airflow-dags, KMS key)"
step "mwaadeps deploy --env dev --dry-run"
mwaadeps deploy --env dev --dry-run
step "mwaadeps deploy --env dev --wait"
mwaadeps deploy --env dev --wait
step "mwaadeps verify --env dev (InvokeRestApi: every DAG file parsed, no import errors)"
mwaadeps verify --env dev
step "mwaadeps status --env dev"
mwaadeps status --env dev
step "mwaadeps discover --env dev (what the environment really has vs mwaadeps' prediction)"
mwaadeps discover --env dev
step "mwaadeps deploy --env dev --wait (again: nothing changed, no upload, no update)"
mwaadeps deploy --env dev --wait
step "mwaadeps history --env dev"
mwaadeps history --env dev
