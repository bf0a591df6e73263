#!/usr/bin/env bash
# The main job: a month-end close of the bundled demo factory (2026-10, then 2026-11) on a fresh
# ledger (the embedded SQLite store), with every journal export, in ./.venv (created on first use).
source "$(dirname "$0")/_venv.sh"
cd "$root"
out="${1:-out/demo}"
wip="$venv/bin/wip"
rm -rf "$out"
mkdir -p "$out/exports"
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
