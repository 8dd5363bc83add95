# eclean-realtime recipes. CI (.ci/run) runs exactly `fmt-check`, `lint` and `test`'s command.
set shell := ["bash", "-euo", "pipefail", "-c"]

database_url := env_var_or_default("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eclean")
redis_url := env_var_or_default("REDIS_URL", "redis://127.0.0.1:6379")

# List the recipes.
default:
    @just --list

# Run the server on the in-memory default (no services needed).
run *ARGS:
    cargo run -p server --bin eclean-realtime -- {{ARGS}}

# Run the server on PostgreSQL + Redis (starts them if needed, creates the database).
run-cluster: services
    psql "postgres://postgres@127.0.0.1:5432/postgres" -tc "SELECT 1 FROM pg_database WHERE datname = 'eclean'" | grep -q 1 \
      || psql "postgres://postgres@127.0.0.1:5432/postgres" -c "CREATE DATABASE eclean"
    DATABASE_URL={{database_url}} REDIS_URL={{redis_url}} cargo run -p server --bin eclean-realtime

# The whole test suite (the README's test command), after making sure the services run.
test: services
    cargo nextest run --workspace

# Clippy with warnings as errors, and the layering check.
lint:
    cargo clippy --workspace --all-targets -- -D warnings
    cargo nextest run -p eclean-tests --test architecture

# Format everything.
fmt:
    cargo fmt --all

# Check formatting.
fmt-check:
    cargo fmt --all -- --check

# Apply pending migrations to DATABASE_URL.
migrate:
    DATABASE_URL={{database_url}} cargo run -p server --bin eclean-realtime -- migrate

# Start local PostgreSQL and Redis if they are not running.
services:
    pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli ping >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1

# Drop databases left behind by killed test runs.
clean-test-dbs:
    psql "postgres://postgres@127.0.0.1:5432/postgres" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'eclean\_test\_%' OR datname LIKE 'eclean\_tmpl\_%'" \
      | while read -r db; do psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "DROP DATABASE \"$db\" WITH (FORCE)"; done

# The benchmark (DESIGN §6): release builds, real processes, results in bench/results/. Sizes and
# durations are environment variables of bench/run.sh (e.g. `SCENARIOS="fanout" RUNS=1 just bench`).
bench: services
    bench/run.sh
