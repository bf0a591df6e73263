# Sourced by the Quick start scripts: make sure ./.venv exists and holds this project.
# Re-installs when pyproject.toml changes (a stamp keeps its hash), so a fresh clone and an
# old checkout both end up with exactly the declared dependencies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
    echo "Setting up $venv (first run, or pyproject.toml changed)..." >&2
    log="$venv/install.log"
    if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
           && "$venv/bin/python" -m pip install --disable-pip-version-check -e "$root[test]"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "pip install failed; the log above is also in $log" >&2
        exit 1
    fi
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
