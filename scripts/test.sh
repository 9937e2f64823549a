#!/usr/bin/env bash
# Runs every test: unit tests and the integration tests that start the real AppHost.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
exec dotnet test ModelPlatform.sln "$@"
