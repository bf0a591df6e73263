"""Formula cells given cached results inside a saved .xlsx, as Excel and LibreOffice save them:
openpyxl writes formulas without results, and tests need what a calculating program leaves."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from costing.workbook._openpyxl import sheet_parts


def cache_values(path: Path, sheet: str, cached: dict[str, tuple[str, str]]) -> None:
    """Give formula cells cached results as Excel and LibreOffice save them (openpyxl cannot):
    ``{"D4": ("", "36000"), "I4": (' t="str"', "")}``."""
    with zipfile.ZipFile(path) as src:
        target = sheet_parts(src)[sheet]
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item, data in items:
            if item.filename == target:
                for coord, (kind, text) in cached.items():
                    cell = b'<c r="' + coord.encode() + b'"'
                    data, n = re.subn(re.escape(cell) + rb'([^>]*)><f>(.*?)</f><v\s*/>',
                                      lambda m: cell + m.group(1) + kind.encode() + b"><f>" + m.group(2) + b"</f><v>"
                                      + text.encode() + b"</v>", data)
                    assert n == 1, coord
            dst.writestr(item, data)
