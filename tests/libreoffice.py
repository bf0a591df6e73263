"""LibreOffice headless as the tests' spreadsheet engine: a workbook's formulas recalculated on
load from copies whose cached values are all a sentinel, so every value read back was computed by
LibreOffice from the sheets' own figures.  Shared by the close workbook's and the variance sheets'
recalculation tests.  Skipped without LibreOffice (`soffice`), except under CI, where it fails:
scripts/test.sh installs libreoffice-calc-nogui when run as root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from costing.workbook._openpyxl import sheet_parts

SENTINEL = "987654.321"

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("LibreOffice (soffice) is missing: scripts/test.sh installs libreoffice-calc-nogui when run as root")
    pytest.skip("LibreOffice (soffice) not installed; scripts/test.sh installs libreoffice-calc-nogui as root")


def without_cached_values(src: Path, dst: Path) -> int:
    """A copy whose formula cells all cache the sentinel: LibreOffice must compute every one."""
    count = 0
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            data = a.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'(<c r="[A-Z]+[0-9]+"[^>]*?)(?: t="str")?(>)<f>(.*?)</f><v>[^<]*</v>',
                                  rb"\1\2<f>\3</f><v>" + SENTINEL.encode() + b"</v>", data, flags=re.S)
                count += n
            b.writestr(item, data)
    return count


def with_cell_changed(src: Path, dst: Path, sheet: str, coordinate: str, value: Decimal) -> None:
    """A copy whose number cell ``sheet!coordinate`` holds ``value``: a figure edited by hand."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        part = sheet_parts(a)[sheet]
        for item in a.infolist():
            data = a.read(item.filename)
            if item.filename == part:
                data, n = re.subn(rb'(<c r="%s"[^>]*><v>)[^<]*(</v>)' % coordinate.encode(),
                                  rb"\g<1>" + str(value).encode() + rb"\g<2>", data)
                assert n == 1, coordinate
            b.writestr(item, data)


def recalculate(books: list[Path], out: Path, profile: Path) -> None:
    """Each of ``books`` recalculated on load by LibreOffice and saved as .xlsx into ``out``."""
    profile.joinpath("user").mkdir(parents=True, exist_ok=True)
    profile.joinpath("user", "registrymodifications.xcu").write_text(_PROFILE)
    subprocess.run([soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", "xlsx", "--outdir", str(out), *map(str, books)],
                   check=True, capture_output=True, timeout=600)
