#!/usr/bin/env bash
# Reruns the training-quality comparison of docs/training-quality.md: scikit-learn's defaults against
# ModelPlatform's 60-second automatic search, on the same splits of eleven public data sets.
# Usage: bench/training-quality/run.sh [BUDGET_SECONDS]   (about 20-25 minutes with the default 60)
set -euo pipefail
cd "$(dirname "$0")"
budget="${1:-60}"
out="${OUT:-$(mktemp -d)}"
# Debian's interpreter, where apt installs scikit-learn (a pyenv or venv python3 on PATH would not see it).
PYTHON="${PYTHON:-/usr/bin/python3}"

if ! "$PYTHON" -c 'import sklearn, pandas, statsmodels' 2>/dev/null; then
  echo "Installing python3-sklearn, python3-pandas and python3-statsmodels (apt-get)..."
  ${SUDO:-$( [ "$(id -u)" -ne 0 ] && echo sudo )} apt-get install -y -qq python3-sklearn python3-pandas python3-statsmodels >/dev/null
fi
# prepare.py reads the text, MovieLens and Ames data from R packages through Rscript.
if ! Rscript -e 'for (p in c("janeaustenr", "modeldata", "dslabs")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' >/dev/null 2>&1; then
  echo "Installing r-base-core, r-cran-janeaustenr, r-cran-modeldata and r-cran-dslabs (apt-get)..."
  ${SUDO:-$( [ "$(id -u)" -ne 0 ] && echo sudo )} apt-get install -y -qq --no-install-recommends \
    r-base-core r-cran-janeaustenr r-cran-modeldata r-cran-dslabs >/dev/null
fi

"$PYTHON" prepare.py "$out/data"
"$PYTHON" sklearn_baseline.py "$out/data" "$out/sklearn.json"
dotnet run -c Release --project ../ModelPlatform.Bench.Training -- "$out/data" "$out/modelplatform.json" "$budget"
"$PYTHON" compare.py "$out/sklearn.json" "$out/modelplatform.json" | tee "$out/table.md"
echo "Results in $out"
