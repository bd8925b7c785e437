#!/usr/bin/env bash
# Create the virtual environments of the CausalImpact peers that benchmarks/causal_cases.py
# compares with R: each peer lives in its own venv because its pins conflict with Cynosure's
# (pycausalimpact needs pandas < 3 and statsmodels < 0.15; tfcausalimpact installs TensorFlow,
# about 2.4 GB).
#
#   benchmarks/peers/setup.sh                   # both peers
#   benchmarks/peers/setup.sh pycausalimpact    # just one
#   PEERS_ROOT=/somewhere benchmarks/peers/setup.sh
#
# Idempotent: a venv whose peer already imports is left as it is. The venvs go under
# .venv-peers/ at the repository root (or $PEERS_ROOT); that folder gets a `.gitignore` of `*`
# so git ignores it even without a line in the repository's .gitignore.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROOT="${PEERS_ROOT:-$REPO/.venv-peers}"
PYTHON="${PYTHON:-python3}"

# pip requirements of each peer. pycausalimpact 0.1.1 (2020) calls pandas and statsmodels APIs
# that pandas 3 and statsmodels 0.15 removed; matplotlib is imported by its plotting module.
# tfcausalimpact pulls TensorFlow and TensorFlow Probability; tf-keras is what TFP needs with
# Keras 3 TensorFlow releases.
requirements() {
    case "$1" in
        pycausalimpact)
            echo "pycausalimpact==0.1.1 pandas<3 statsmodels<0.15 numpy<2.3 scipy matplotlib" ;;
        tfcausalimpact)
            echo "tfcausalimpact" ;;
        *)
            echo "unknown peer: $1 (expected pycausalimpact or tfcausalimpact)" >&2
            return 2 ;;
    esac
}

module_of() {
    case "$1" in
        pycausalimpact) echo "causalimpact" ;;
        tfcausalimpact) echo "causalimpact" ;;
    esac
}

setup_peer() {
    local peer="$1" reqs venv
    reqs="$(requirements "$peer")"
    venv="$ROOT/$peer"
    if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import $(module_of "$peer")" \
            >/dev/null 2>&1; then
        echo "$peer: $venv already set up"
        return 0
    fi
    echo "$peer: creating $venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    # shellcheck disable=SC2086  # word splitting of the requirement list is intended
    "$venv/bin/python" -m pip install --quiet $reqs
    "$venv/bin/python" -c "import $(module_of "$peer")"
    echo "$peer: ready ($(du -sh "$venv" | cut -f1))"
}

mkdir -p "$ROOT"
[[ -f "$ROOT/.gitignore" ]] || echo '*' > "$ROOT/.gitignore"

peers=("$@")
if [[ ${#peers[@]} -eq 0 ]]; then
    peers=(pycausalimpact tfcausalimpact)
fi
for peer in "${peers[@]}"; do
    setup_peer "$peer"
done
