#!/usr/bin/env bash
# The main job: a month-end close of the bundled demo factory (2026-10, then 2026-11) on a fresh
# ledger (the embedded SQLite store), with every journal export, in ./.venv (created on first use).
#
# Usage: bash scripts/demo.sh [OUT_DIR]     (OUT_DIR: default out/demo in the checkout)
# OUT_DIR is emptied on every run, so only what this script wrote is ever deleted: it writes a
# marker file (.wip-demo-output) into the folder it fills, and refuses a folder holding any name
# it does not write itself (marked or not: a user's file kept in, or a marker copied along into
# another folder, is never deleted), or holding the names it writes but no marker (except the
# default folder, filled by runs before the marker). A run stopped mid-way (Ctrl-C, kill, even
# kill -9) leaves a folder the next run takes: the marker is written first and deleted last, and
# the temporary files a `wip` command stopped mid-write leaves are recognised by the exact names it
# gives them, in a marked folder only. A relative OUT_DIR is taken from the folder you run the
# script in. The arguments are checked before anything else is done (no venv set-up, nothing
# written).
set -euo pipefail

marker=".wip-demo-output"
usage() {
    cat <<'USAGE'
usage: bash scripts/demo.sh [OUT_DIR]

Closes the demo factory's 2026-10 and 2026-11 on a fresh ledger and writes the ledger, journals,
roll-forwards, audit reports and every journal export into OUT_DIR (default: out/demo in the
checkout). OUT_DIR is emptied on every run: it must be a new folder, an empty one, or one an
earlier run of this script filled (it holds the marker file .wip-demo-output) with nothing else
put in since; the temporary files a run stopped mid-way left there are removed. A relative OUT_DIR
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
    if [ -d "$out" ] && [ ! -L "$out" ]; then
        out="$(cd -- "$out" && pwd)"  # `.`, `..`, a/./b: the folder's own path (a link stays a link)
    fi
    out_abs="$out"
fi

# What this script writes, by exact name: the months it closes, the export formats, and the files
# each format writes for a month into exports/ (xero and intacct number their files from -1; the
# demo's months fit in one); the ledger and the side files SQLite may leave beside it. Only these
# names are ever deleted: a file of the user's whose name merely looks like them (journals-notes.txt,
# wip-ledger.db-backup, exports/journals-2026-10.gl.csv.orig) is not one of them.
periods=(2026-10 2026-11)
formats=(gl-csv qbo xero iif intacct beancount)
_export_file() {  # FORMAT PERIOD: the file `wip export --format FORMAT` writes for the month
    case "$1" in
        gl-csv) echo "journals-$2.gl.csv" ;;
        qbo) echo "journals-$2.qbo.csv" ;;
        xero) echo "journals-$2.xero-1.csv" ;;
        iif) echo "journals-$2.iif" ;;
        intacct) echo "journals-$2.intacct-1.csv" ;;
        beancount) echo "journals-$2.beancount" ;;
    esac
}
written_here=(audit.xlsx flow.txt standards.txt variance.txt wip-ledger.db wip-ledger.db-journal wip-ledger.db-wal
              wip-ledger.db-shm "$marker")
written_in_exports=(accounts.beancount)  # beancount's chart, beside its journals
for period in "${periods[@]}"; do
    written_here+=("journals-$period.txt" "rollforward-$period.txt")
    for fmt in "${formats[@]}"; do
        written_in_exports+=("$(_export_file "$fmt" "$period")")
    done
done
_one_of() {  # NAME WORD...: whether NAME is one of the words, exactly
    local name="$1" word
    shift
    for word in "$@"; do
        [ "$word" = "$name" ] && return 0
    done
    return 1
}
_written_here() { _one_of "$1" "${written_here[@]}"; }
_written_in_exports() { _one_of "$1" "${written_in_exports[@]}"; }

# The temporary files a `wip` command killed mid-write leaves (SIGKILL, or SIGTERM: Python cleans
# up only on Ctrl-C), by the exact names Python's tempfile gives them: a prefix, 8 characters of
# its alphabet, a suffix. `wip variance/standards/flow --xlsx` writes .audit.xlsx.XXXXXXXX.tmp
# beside the workbook and renames it over it (costing/_atomic.py); `wip export` writes a month's
# files into exports/.journals-export-XXXXXXXX/ and renames each into exports/
# (costing/exports/_common.py). The alphabet is spelt out: a range like [a-z] follows the locale.
_tempfile_random() {  # TEXT: whether TEXT is what tempfile puts between prefix and suffix
    [ "${#1}" -eq 8 ] || return 1
    case "$1" in *[!abcdefghijklmnopqrstuvwxyz0123456789_]*) return 1 ;; esac
}
_audit_temp() {  # PATH: a regular file .audit.xlsx.XXXXXXXX.tmp (not a link)
    local name="${1##*/}" random
    [ -f "$1" ] && [ ! -L "$1" ] || return 1
    case "$name" in .audit.xlsx.*.tmp) ;; *) return 1 ;; esac
    random="${name#.audit.xlsx.}"
    _tempfile_random "${random%.tmp}"
}
_export_staging() (  # PATH: a folder .journals-export-XXXXXXXX (not a link) holding only export files
    name="${1##*/}"
    [ -d "$1" ] && [ ! -L "$1" ] || exit 1
    case "$name" in .journals-export-*) ;; *) exit 1 ;; esac
    _tempfile_random "${name#.journals-export-}" || exit 1
    shopt -s nullglob dotglob
    for inner in "$1"/*; do
        [ -f "$inner" ] && [ ! -L "$inner" ] && _written_in_exports "${inner##*/}" || exit 1
    done
)

_remove_staging() {  # PATH: an _export_staging folder, file by file as each is looked at again, then itself
    local inner
    for inner in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        [ -e "$inner" ] || [ -L "$inner" ] || continue
        if [ -f "$inner" ] && [ ! -L "$inner" ] && _written_in_exports "${inner##*/}"; then rm -f -- "$inner"; fi
    done
    rmdir -- "$1" 2>/dev/null || true  # a name saved in it since stays, and so does the folder
}

# What OUT_DIR holds that this script did not write, one name a line (a folder with a trailing /):
# any other name, a link, a folder where it writes a file, and what its exports/ holds beside exports.
# A killed run's temporary files count as written only beside the marker: a run writes the marker
# before any `wip` command, so no run of its leaves them in an unmarked folder.
_not_written_here() (
    shopt -s nullglob dotglob
    marked=""
    if [ -f "$out_abs/$marker" ] && [ ! -L "$out_abs/$marker" ]; then marked=1; fi
    for entry in "$out_abs"/*; do
        name="${entry##*/}"
        if [ -n "$marked" ] && _audit_temp "$entry"; then
            continue
        elif [ -L "$entry" ]; then
            echo "$name (a link)"
        elif [ "$name" = exports ] && [ -d "$entry" ]; then
            for inner in "$entry"/*; do
                if [ -n "$marked" ] && _export_staging "$inner"; then
                    continue
                elif [ -L "$inner" ] || [ ! -f "$inner" ] || ! _written_in_exports "${inner##*/}"; then
                    echo "exports/${inner##*/}$([ -d "$inner" ] && [ ! -L "$inner" ] && echo /)"
                fi
            done
        elif [ -d "$entry" ]; then
            echo "$name/"
        elif [ ! -f "$entry" ] || ! _written_here "$name"; then
            echo "$name"
        fi
    done
)

out_given=$#
# Refuses (exit 2) an OUT_DIR that is not a folder, holds a name this script does not write, or
# (a folder given) holds its names without the marker.
_refuse_unless_ours() {
    if [ -L "$out_abs" ] || { [ -e "$out_abs" ] && [ ! -d "$out_abs" ]; }; then
        echo "demo.sh: $out_abs is not a folder (a file or a link); give a new or empty folder for the demo's outputs" >&2
        exit 2
    fi
    if [ -d "$out_abs" ] && [ -n "$(ls -A "$out_abs")" ]; then
        foreign="$(_not_written_here)"
        if [ -n "$foreign" ]; then
            shown="" count=0
            while IFS= read -r name; do
                count=$((count + 1))
                [ "$count" -le 5 ] && shown="${shown:+$shown, }$name"
            done <<< "$foreign"
            [ "$count" -gt 5 ] && shown="$shown and $((count - 5)) more"
            echo "demo.sh: $out_abs already holds files this script did not write ($shown); it empties its output" \
                 "folder on every run, so give a new or empty folder (or one an earlier demo run filled)" >&2
            exit 2
        fi
        if [ ! -f "$out_abs/$marker" ] && [ "$out_given" -ne 0 ]; then
            # Only the default folder was filled by runs from before the marker.
            echo "demo.sh: $out_abs already holds files this script did not write (no $marker: not a folder an" \
                 "earlier demo run filled); it empties its output folder on every run, so give a new or empty folder" >&2
            exit 2
        fi
    fi
}
_refuse_unless_ours
source "$script_root/scripts/_venv.sh"
cd "$root"
# Again: setting up the venv can take minutes on first use, and a file put in the folder meanwhile
# must not be deleted below.
_refuse_unless_ours
wip="$venv/bin/wip"
if [ -d "$out_abs" ]; then
    # Only what this script wrote (checked above), one name at a time: the folder itself stays (it
    # may be the folder you are in). The marker goes last and comes back first, before anything
    # else is written: a run killed at any point leaves a marked folder, or an empty one.
    # Each entry is looked at again as it is deleted (the check above ran a moment before): a
    # name saved there since, or a file swapped for a link or a folder, is left as it is.
    (shopt -s nullglob dotglob
     for entry in "$out_abs"/*; do
         name="${entry##*/}"
         if [ "$name" = "$marker" ]; then
             continue
         elif _audit_temp "$entry"; then
             rm -f -- "$entry"
         elif [ "$name" = exports ] && [ -d "$entry" ] && [ ! -L "$entry" ]; then
             for inner in "$entry"/*; do
                 if _export_staging "$inner"; then
                     _remove_staging "$inner"
                 elif [ -f "$inner" ] && [ ! -L "$inner" ] && _written_in_exports "${inner##*/}"; then
                     rm -f -- "$inner"
                 fi
             done
             rmdir -- "$entry" 2>/dev/null || true
         elif [ -f "$entry" ] && [ ! -L "$entry" ] && _written_here "$name"; then
             rm -f -- "$entry"
         fi
     done
     if [ -n "$(_not_written_here)" ]; then exit 1; fi  # something appeared: the marker stays
     rm -f -- "$out_abs/$marker") || {
        echo "demo.sh: $out_abs gained files this script did not write while it was emptying it ($(_not_written_here |
              tr '\n' ' ')); they are left as they are: move them, then run again" >&2
        exit 2
    }
fi
mkdir -p "$out_abs"
printf '%s\n' "Written by scripts/demo.sh, which empties and refills this folder on every run (it refuses to if the folder holds anything else)." > "$out_abs/$marker"
mkdir -p "$out_abs/exports"
ledger="$out/wip-ledger.db"

# Stopped by Ctrl-C, kill or a closed terminal: remove the temporary files left by a `wip` command
# the signal killed too (see _audit_temp), then stop by the same signal. Bash runs this once the
# running command has ended. What the run had finished stays: it has the names this script writes,
# beside the marker, and the next run replaces it. A trap cannot run on kill -9: there the next run
# removes the temporary files.
_remove_temps() (
    shopt -s nullglob dotglob
    for entry in "$out_abs"/.audit.xlsx.*.tmp; do
        if _audit_temp "$entry"; then rm -f -- "$entry"; fi
    done
    for entry in "$out_abs"/exports/.journals-export-*; do
        if _export_staging "$entry"; then _remove_staging "$entry"; fi
    done
)
_stopped_by() {  # SIGNAL
    _remove_temps || true
    trap - "$1"
    kill -s "$1" "$$"
}
trap '_stopped_by INT' INT
trap '_stopped_by TERM' TERM
trap '_stopped_by HUP' HUP

for period in "${periods[@]}"; do
    echo "== wip close examples/demo/close-$period.yaml --period $period"
    "$wip" close "examples/demo/close-$period.yaml" --period "$period" --ledger "$ledger"
    echo
    for fmt in "${formats[@]}"; do
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
