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
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[test]"
    rm -f "$venv"/.installed-*
    touch "$stamp"
fi
