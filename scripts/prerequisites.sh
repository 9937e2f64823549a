#!/usr/bin/env bash
# Checks what ModelPlatform needs on this machine and installs what is missing where it can
# (Debian/Ubuntu with apt-get, as root or with sudo); elsewhere it says what to install.
# Sourced by run.sh and test.sh.
set -euo pipefail

fail() { printf 'ModelPlatform: %s\n' "$*" >&2; exit 1; }

if ! command -v dotnet >/dev/null 2>&1; then
  fail "the .NET 10 SDK is missing. Install it from https://dot.net (or 'sudo apt-get install -y dotnet-sdk-10.0'), then run this again."
fi
if ! dotnet --list-sdks | grep '^10\.' >/dev/null; then
  fail "the .NET 10 SDK is needed; found: $(dotnet --list-sdks | tr '\n' ' ')"
fi

container_runtime() {
  { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; } ||
  { command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; }
}

has_servers() {
  command -v redis-server >/dev/null 2>&1 &&
  { command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || [ -x /usr/sbin/rabbitmq-server ]; }
}

has_postgres() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

# Installs Debian/Ubuntu packages with apt-get, as root or through sudo; elsewhere fails with $2, which says what to do.
apt_install() {
  local packages="$1" otherwise="$2"
  command -v apt-get >/dev/null 2>&1 || fail "$otherwise"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "$packages missing; install them as root: apt-get install -y $packages"
    sudo="sudo"
  fi
  echo "ModelPlatform: installing $packages (apt-get)..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $packages >/dev/null
}

# Redis and RabbitMQ: containers when Docker or Podman runs, else the local servers.
if ! container_runtime && ! has_servers; then
  apt_install "redis-server rabbitmq-server" \
    "Redis and RabbitMQ are missing. Start Docker or Podman, or install them: 'brew install redis rabbitmq' (macOS), 'sudo apt-get install -y redis-server rabbitmq-server' (Debian/Ubuntu)."
fi

# PostgreSQL's binaries: the store tests run on a PostgreSQL of their own (MODELPLATFORM_TESTS=1, set by test.sh), and the
# platform runs on one with Platform__Store=postgres when no container runtime answers.
store="$(printf '%s' "${Platform__Store:-sqlite}" | tr '[:upper:]' '[:lower:]')"
if ! has_postgres && { [ "${MODELPLATFORM_TESTS:-0}" = 1 ] || { [ "$store" = postgres ] && ! container_runtime; }; }; then
  apt_install "postgresql" \
    "PostgreSQL is missing. Install it ('brew install postgresql' on macOS, 'sudo apt-get install -y postgresql' on Debian/Ubuntu), or start Docker or Podman."
fi

# Chromium: the console's browser tests drive it (Playwright's own browser download is not used).
if [ "${MODELPLATFORM_TESTS:-0}" = 1 ] && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install "chromium" \
    "Chromium is missing for the console's browser tests. Install it ('sudo apt-get install -y chromium'), or set CHROMIUM_PATH to a Chromium or Chrome."
fi

# TLS: the https launch profile, and the integration tests that run under it, need ASP.NET Core's development certificate,
# trusted. On Linux, .NET trusts it through OpenSSL once its folder is in SSL_CERT_DIR (https://aka.ms/dev-certs-trust);
# on macOS and Windows, 'dotnet dev-certs https --trust' asks once, so this only says so.
if [ "$(uname -s)" = Linux ]; then
  dev_cert_trust="$HOME/.aspnet/dev-certs/trust"
  if ! dotnet dev-certs https --check >/dev/null 2>&1 || ! ls "$dev_cert_trust"/*.pem >/dev/null 2>&1; then
    echo "ModelPlatform: creating ASP.NET Core's development certificate and trusting it for $(id -un) (dotnet dev-certs https --trust)..."
    # Exits non-zero on Linux, where it cannot change SSL_CERT_DIR for us; the export below does.
    dotnet dev-certs https --trust >/dev/null 2>&1 || true
  fi
  case ":${SSL_CERT_DIR:-}:" in
    *":$dev_cert_trust:"*) ;;
    *) export SSL_CERT_DIR="$dev_cert_trust:${SSL_CERT_DIR:-/etc/ssl/certs}" ;;
  esac
elif ! dotnet dev-certs https --check --trust >/dev/null 2>&1; then
  echo "ModelPlatform: the https profile and the tests need a trusted development certificate: run 'dotnet dev-certs https --trust' once." >&2
fi
