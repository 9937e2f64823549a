#!/usr/bin/env bash
# Reruns the inference benchmark of docs/performance.md: (a) the ML.NET model, and its ONNX export on ONNX Runtime, in
# process, (b) a trivial ASP.NET Core endpoint, (c) ModelPlatform's /predict, OIP /infer and CSV scoring, of the ML.NET
# model and of its ONNX export registered as a model of its own, (d) FastAPI + uvicorn + scikit-learn, all on the same
# model data and rows, driven by wrk on this machine; then a promotion under steady load.
# Usage: bench/inference/run.sh [ROUNDS=3] [SECONDS=10]     (about 25 minutes with the defaults)
#        bench/inference/run.sh entity [ROUNDS=3] [SECONDS=10]   (serving by entity key beside inline features alone, ~6 minutes)
#        bench/inference/run.sh batch [ROUNDS=3] [ROWS=1000000]   (a batch prediction job over a dataset of ROWS rows beside
#                                   the same rows scored as one CSV file by /predict: rows/s of each, the ratio, peak memory)
#        bench/inference/run.sh serve      (the platform as benchmarked, left running for wrk, dotnet-trace, dotnet-counters)
# Run it alone on the machine: flock /tmp/modelplatform-heavy.lock bench/inference/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=bench
if [ "${1:-}" = serve ] || [ "${1:-}" = entity ] || [ "${1:-}" = batch ]; then mode="$1"; shift; fi
rounds="${1:-3}"
seconds="${2:-10}"
rows="${2:-1000000}"
out="${OUT:-$(mktemp -d)}"
# Debian's interpreter, where apt installs FastAPI and scikit-learn (a pyenv or venv python3 on PATH would not see them).
PYTHON="${PYTHON:-/usr/bin/python3}"
PYTHON_PORT=18000

packages=()
# Batch mode times whole files and jobs; the others drive load with wrk.
[ "$mode" = batch ] || command -v wrk >/dev/null || packages+=(wrk)
# The entity-key benchmark generates its data in C#; batch needs only prepare.py's Python, the rest FastAPI's as well.
if [ "$mode" = batch ]; then
  "$PYTHON" -c 'import sklearn, pandas, statsmodels' 2>/dev/null || packages+=(python3-sklearn python3-pandas python3-statsmodels)
elif [ "$mode" != entity ]; then
  "$PYTHON" -c 'import fastapi, uvicorn, uvloop, sklearn, pandas, statsmodels' 2>/dev/null \
    || packages+=(python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-sklearn python3-pandas python3-statsmodels)
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]} (apt-get)..."
  ${SUDO:-$( [ "$(id -u)" -ne 0 ] && echo sudo )} apt-get install -y -qq "${packages[@]}" >/dev/null
fi
source scripts/prerequisites.sh

if [ "$mode" = entity ]; then
  mkdir -p "$out/bodies"
  dotnet run -c Release --project bench/ModelPlatform.Bench.Inference -- entity "$out/bodies" "$rounds" "$seconds" "$out/results.md"
  echo "Results in $out/results.md"
  exit
fi

"$PYTHON" bench/training-quality/prepare.py "$out/data" fair-affairs >/dev/null
if [ "$mode" = batch ]; then
  dotnet run -c Release --project bench/ModelPlatform.Bench.Inference -- batch "$out/data" "$rounds" "$rows" "$out/results.md"
  echo "Results in $out/results.md"
  exit
fi
"$PYTHON" bench/inference/make_bodies.py "$out/data/fair-affairs/test.csv" had_affair "$out/bodies"
if [ "$mode" = serve ]; then
  exec dotnet run -c Release --project bench/ModelPlatform.Bench.Inference -- serve "$out/data" "$out/bodies"
fi

# (d) as a Python team would run it: uvicorn with uvloop (what uvicorn[standard] installs), one worker per core,
# one OpenMP thread per worker so the two do not fight over the cores.
OMP_NUM_THREADS=1 TRAIN_CSV="$out/data/fair-affairs/train.csv" "$PYTHON" -m uvicorn fastapi_app:app --app-dir bench/inference \
  --host 127.0.0.1 --port "$PYTHON_PORT" --workers 2 --loop uvloop --log-level warning --no-access-log &
python_server=$!
trap 'kill "$python_server" 2>/dev/null || true' EXIT

dotnet run -c Release --project bench/ModelPlatform.Bench.Inference -- \
  "$out/data" "$out/bodies" "http://127.0.0.1:$PYTHON_PORT" "$rounds" "$seconds" "$out/results.md"
echo "Results in $out/results.md"
