#!/usr/bin/env bash
# Runs the whole platform (feature, training, registry, inference, Redis, RabbitMQ) with the Aspire dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
exec dotnet run --project AppHost "$@"
