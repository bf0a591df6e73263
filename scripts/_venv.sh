# Sourced by the Quick start scripts: make sure ./.venv exists and holds this project.
# Re-installs when pyproject.toml changes (a stamp keeps its hash), so a fresh clone and an
# old checkout both end up with exactly the declared dependencies.
# The stamp also records the checkout the venv was installed for: a .venv copied or moved along
# with its checkout still runs the original checkout's code (the editable install and the scripts'
# shebangs name it), so there the scripts are re-pointed and the project installed again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi

# Whether the venv runs this checkout's code: `wip` starts this venv's python, which imports
# `costing` from this checkout.
_venv_runs_this_checkout() {
    [ "$(head -n 1 "$venv/bin/wip" 2>/dev/null)" = "#!$venv/bin/python" ] \
        && "$venv/bin/python" - "$root" <<'EOF' 2>/dev/null
import os, sys
import costing
root = os.path.realpath(sys.argv[1])
sys.exit(0 if os.path.realpath(costing.__file__).startswith(root + os.sep) else 1)
EOF
}

installed_for=""
if [ -f "$stamp" ]; then
    installed_for="$(cat "$stamp")"
    # A stamp written before it recorded the checkout: trust it only when the venv runs this one.
    if [ -z "$installed_for" ] && _venv_runs_this_checkout; then
        printf '%s\n' "$root" > "$stamp"
        installed_for="$root"
    fi
fi
if [ "$installed_for" != "$root" ]; then
    if [ -f "$stamp" ]; then
        echo "Setting up $venv again: it was installed for ${installed_for:-another checkout} (copied or moved)..." >&2
    else
        echo "Setting up $venv (first run, or pyproject.toml changed)..." >&2
    fi
    log="$venv/install.log"
    # Scripts and activate files a copied venv brought along name the venv they were made in.
    "$venv/bin/python" - "$venv" <<'EOF'
import pathlib, re, sys
venv = pathlib.Path(sys.argv[1])
shebang = re.compile(rb"^#!(.*)/bin/python[0-9.]*(?=\r?\n)")
old = None
for path in sorted((venv / "bin").iterdir()):
    if path.is_symlink() or not path.is_file():
        continue
    data = path.read_bytes()
    m = shebang.match(data)
    if m and m.group(1) != str(venv).encode():
        old = old or m.group(1)
        path.write_bytes(b"#!" + str(venv).encode() + b"/bin/python" + data[m.end():])
if old:
    for path in (venv / "bin").glob("activate*"):
        path.write_bytes(path.read_bytes().replace(old, str(venv).encode()))
EOF
    if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
           && "$venv/bin/python" -m pip install --disable-pip-version-check -e "$root[test]"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "pip install failed; the log above is also in $log" >&2
        exit 1
    fi
    if ! _venv_runs_this_checkout; then
        echo "$venv does not run this checkout's code after installing it (see $log); remove $venv and run again" >&2
        exit 1
    fi
    rm -f "$venv"/.installed-*
    printf '%s\n' "$root" > "$stamp"
fi
