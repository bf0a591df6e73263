#!/usr/bin/env bash
# Runs the whole test suite in ./.venv (created on first use). Extra arguments go to pytest.
source "$(dirname "$0")/_venv.sh"
cd "$root"
# LibreOffice headless recalculates the close workbooks' formulas in the tests
# (tests/test_workbook_libreoffice.py); CI runs on a fresh machine, so install it when missing.
if ! command -v soffice >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing libreoffice-calc-nogui (LibreOffice headless, for the workbook formula tests)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui; \
         } >/dev/null 2>&1; then
        echo "warning: could not install libreoffice-calc-nogui; the LibreOffice tests will fail under CI"
    fi
fi
set +e
"$venv/bin/python" -m pytest "$@"
rc=$?
set -e
# pytest exits 5 when it collected no tests (e.g. a -k filter that matches nothing);
# that is not a failure of the code under test.
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests (exit 5), treated as success"
    rc=0
fi
exit "$rc"
