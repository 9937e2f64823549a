#!/usr/bin/env bash
# Prints the platform's first admin key. The AppHost generates it on its first run and keeps it, readable only by you, beside
# the generated passwords in the platform's data folder (Platform__DataDirectory when set, as for the AppHost).
set -euo pipefail

case "$(uname -s)" in
  Darwin) default="$HOME/Library/Application Support/ModelPlatform" ;;
  *) default="${XDG_DATA_HOME:-$HOME/.local/share}/ModelPlatform" ;;
esac
file="${Platform__DataDirectory:-$default}/secrets/admin-api-key"

if [[ ! -f "$file" ]]; then
  echo "No admin key at $file yet: start the platform once with ./scripts/run.sh." >&2
  echo "(If you set Parameters:admin-api-key in the AppHost's user secrets, that value is the key.)" >&2
  exit 1
fi
cat "$file"
