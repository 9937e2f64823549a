#!/usr/bin/env bash
# Retakes the README's pictures of the console (docs/console/*.png): the console's browser tests run against the real
# platform, and each saves the page it checks as it is at that moment (ConsoleBrowser.ShowAsync).
set -euo pipefail
cd "$(dirname "$0")/.."
MODELPLATFORM_TESTS=1 source scripts/prerequisites.sh

export MODELPLATFORM_CONSOLE_SCREENSHOTS="$PWD/docs/console"
exec dotnet test tests/ModelPlatform.IntegrationTests --filter "FullyQualifiedName~ConsoleTests" "$@"
