#!/usr/bin/env bash
# The main job: a month-end close of the bundled demo factory (2026-10, then 2026-11) on a fresh
# ledger (the embedded SQLite store), with every journal export, in ./.venv (created on first use).
#
# Usage: bash scripts/demo.sh [OUT_DIR]     (OUT_DIR: default out/demo in the checkout)
# OUT_DIR is replaced on every run, so only a folder this script made is ever deleted: it writes a
# marker file (.wip-demo-output) into the folder it fills, and refuses a folder that holds anything
# without that marker. A relative OUT_DIR is taken from the folder you run the script in.
# The arguments are checked before anything else is done (no venv set-up, nothing written).
set -euo pipefail

marker=".wip-demo-output"
usage() {
    cat <<'USAGE'
usage: bash scripts/demo.sh [OUT_DIR]

Closes the demo factory's 2026-10 and 2026-11 on a fresh ledger and writes the ledger, journals,
roll-forwards, audit reports and every journal export into OUT_DIR (default: out/demo in the
checkout). OUT_DIR is replaced on every run: it must be a new folder, an empty one, or one an
earlier run of this script filled (it holds the marker file .wip-demo-output). A relative OUT_DIR
is taken from the current folder.
USAGE
}

script_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "$#:${1:-}" in
    1:-h|1:--help) usage; exit 0 ;;
    1:-*) echo "demo.sh: unknown option ${1}" >&2; usage >&2; exit 2 ;;
    1:) echo "demo.sh: OUT_DIR is empty" >&2; usage >&2; exit 2 ;;
    0:|1:*) ;;
    *) echo "demo.sh: expected at most one argument (OUT_DIR), found $#" >&2; usage >&2; exit 2 ;;
esac
if [ "$#" -eq 0 ]; then
    out="out/demo"  # inside the checkout: the script works from there, so printed paths stay short
    out_abs="$script_root/out/demo"
else
    case "$1" in
        /*) out="$1" ;;
        *) out="$PWD/$1" ;;  # the caller's folder, not the checkout's
    esac
    while [ "${out%/}" != "$out" ] && [ "${out%/}" != "" ]; do out="${out%/}"; done  # out/ is out
    out_abs="$out"
fi

# Whether the folder holds only what an earlier run wrote, before runs left the marker: the
# default folder only, and only the names this script writes there.
_earlier_default_run() {
    [ "$#" -eq 0 ] || return 1
    local entry name
    for entry in "$out_abs"/* "$out_abs"/.[!.]* "$out_abs"/..?*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        name="${entry##*/}"
        case "$name" in
            exports | audit.xlsx | flow.txt | standards.txt | variance.txt | wip-ledger.db | wip-ledger.db-* \
            | journals-*.txt | rollforward-*.txt) ;;
            *) return 1 ;;
        esac
    done
}

if [ -L "$out_abs" ] || { [ -e "$out_abs" ] && [ ! -d "$out_abs" ]; }; then
    echo "demo.sh: $out_abs is not a folder (a file or a link); give a new or empty folder for the demo's outputs" >&2
    exit 2
fi
if [ -d "$out_abs" ] && [ ! -f "$out_abs/$marker" ] && [ -n "$(ls -A "$out_abs")" ] \
        && ! _earlier_default_run "$@"; then
    echo "demo.sh: $out_abs already holds files this script did not write; it replaces its output folder on" \
         "every run, so give a new or empty folder (or one an earlier demo run filled)" >&2
    exit 2
fi

source "$script_root/scripts/_venv.sh"
cd "$root"
wip="$venv/bin/wip"
if [ -d "$out_abs" ] && [ -n "$(ls -A "$out_abs")" ]; then
    rm -rf -- "$out_abs"  # a folder this script filled (checked above)
fi
mkdir -p "$out_abs/exports"
printf '%s\n' "Written by scripts/demo.sh, which deletes and rewrites this folder on every run." > "$out_abs/$marker"
ledger="$out/wip-ledger.db"

for period in 2026-10 2026-11; do
    echo "== wip close examples/demo/close-$period.yaml --period $period"
    "$wip" close "examples/demo/close-$period.yaml" --period "$period" --ledger "$ledger"
    echo
    for fmt in gl-csv qbo xero iif intacct beancount; do
        "$wip" export --period "$period" --format "$fmt" --out "$out/exports" --ledger "$ledger" >/dev/null
    done
    "$wip" journal --period "$period" --ledger "$ledger" > "$out/journals-$period.txt"
    "$wip" rollforward --period "$period" --ledger "$ledger" --detail > "$out/rollforward-$period.txt"
done
# The month-end audit: what moved between the two months, standard-cost variances, WIP flow.
"$wip" variance --from 2026-10 --to 2026-11 --ledger "$ledger" --xlsx "$out/audit.xlsx" > "$out/variance.txt"
"$wip" standards --period 2026-11 --standards examples/demo/standards.yaml --ledger "$ledger" \
    --xlsx "$out/audit.xlsx" > "$out/standards.txt"
"$wip" flow --period 2026-11 --orders examples/demo/orders.yaml --ledger "$ledger" --xlsx "$out/audit.xlsx" \
    > "$out/flow.txt"
echo "== wip rollforward --period 2026-11"
"$wip" rollforward --period 2026-11 --ledger "$ledger"
echo
"$wip" verify --ledger "$ledger"
echo
echo "Outputs:"
echo "  ledger:        $ledger"
echo "  journals:      $out/journals-2026-10.txt, $out/journals-2026-11.txt"
echo "  roll-forwards: $out/rollforward-2026-10.txt, $out/rollforward-2026-11.txt"
echo "  audit:         $out/variance.txt, $out/standards.txt, $out/flow.txt, $out/audit.xlsx"
echo "  exports:       $out/exports/ ($(ls "$out/exports" | wc -l) files: gl-csv, qbo, xero, iif, intacct, beancount)"
