#!/usr/bin/env bash
# Runs every check and test: the house style (.editorconfig), then unit tests and the integration tests that start
# the real AppHost.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELPLATFORM_TESTS=1 source scripts/prerequisites.sh

dotnet format ModelPlatform.sln --verify-no-changes
# dotnet format does not wrap lines, so the length limit of .editorconfig is checked here.
long_lines=$(find . -name '*.cs' -not -path '*/bin/*' -not -path '*/obj/*' -exec awk 'length > 160 { print FILENAME ":" FNR }' {} +)
if [ -n "$long_lines" ]; then
  printf 'ModelPlatform: these lines are longer than 160 characters:\n%s\n' "$long_lines" >&2
  exit 1
fi

exec dotnet test ModelPlatform.sln "$@"
