# Sourced by the Quick start scripts: make sure ./.venv exists and holds this project.
# Re-installs when pyproject.toml changes (a stamp keeps its hash), so a fresh clone and an
# old checkout both end up with exactly the declared dependencies.
# The stamp also records the checkout the venv was installed for. A .venv copied or moved along
# with its checkout still names the original one (the editable install, every script's shebang,
# activate*), so there it is removed and made again. That costs one full install, but only after a
# copy or move, and it is the only fix that stays right for every script: pip writes a shebang
# `#!/path/.venv/bin/python` only when the path is short and has no space, otherwise a `#!/bin/sh`
# line and an `exec "/path/.venv/bin/python"` line, so re-pointing them by text edits would break
# the scripts it does not reinstall whenever the new path has a space or is long.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"

# Whether the venv runs this checkout's code: `wip` starts this venv's python (pip writes either
# form of script above), which imports `costing` from this checkout.
_venv_runs_this_checkout() {
    grep -qF -e "#!$venv/bin/python" -e "'''exec' $venv/bin/python" -e "'''exec' \"$venv/bin/python" \
            "$venv/bin/wip" 2>/dev/null \
        && "$venv/bin/python" - "$root" <<'EOF' 2>/dev/null
import os, sys
import costing
root = os.path.realpath(sys.argv[1])
sys.exit(0 if os.path.realpath(costing.__file__).startswith(root + os.sep) else 1)
EOF
}

# The checkout the venv was installed for, as a stamp records it (any stamp: pyproject.toml may
# have changed since); a stamp written before it recorded the checkout is empty.
have_stamp=""
installed_for=""
for s in "$venv"/.installed-*; do
    [ -f "$s" ] || continue
    have_stamp=1
    installed_for="$(head -n 1 "$s")"
done
# An empty stamp: trust it only when the venv runs this checkout.
if [ -n "$have_stamp" ] && [ -z "$installed_for" ] && _venv_runs_this_checkout; then
    installed_for="$root"
    if [ -f "$stamp" ]; then printf '%s\n' "$root" > "$stamp"; fi
fi
# -ef: the same directory, also when reached by another path (a symlink), so no flip-flopping.
if [ -n "$have_stamp" ] && ! [ "$installed_for" -ef "$root" ]; then
    echo "Setting up $venv again: it was installed for ${installed_for:-another checkout} (copied or moved)..." >&2
    rm -rf "$venv"
elif [ ! -f "$stamp" ]; then
    echo "Setting up $venv (first run, or pyproject.toml changed)..." >&2
fi
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ ! -f "$stamp" ]; then
    log="$venv/install.log"
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
