"""The macro-enabled close workbook: xlwings' VBA project intact (also after openpyxl writes),
the configuration sheet pointing at excel_addin.functions, and the Close month button."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import openpyxl
import xlwings

from excel_addin._xlsm import (
    MACRO,
    build_macro_workbook,
    has_close_button,
    vba_project_hash,
    vba_source,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "close-template.xlsx"


def test_xlwings_is_pinned_and_its_vba_matches():
    pin = re.search(r'"xlwings==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert xlwings.__version__ == pin
    # the VBA project comes from that very package version
    assert vba_source().parent == Path(xlwings.__file__).parent


def test_macro_workbook_has_vba_config_and_button(tmp_path):
    workbook, launcher = build_macro_workbook(TEMPLATE, tmp_path)
    with zipfile.ZipFile(vba_source()) as z:
        original = hashlib.sha256(z.read("xl/vbaProject.bin")).hexdigest()
    assert vba_project_hash(workbook) == original
    with zipfile.ZipFile(workbook) as z:
        assert "macroEnabled" in z.read("[Content_Types].xml").decode()
    wb = openpyxl.load_workbook(workbook, keep_vba=True)
    config = {row[0]: row[1] for row in wb["xlwings.conf"].iter_rows(values_only=True)}
    assert config["UDF Modules"] == "excel_addin.functions"
    assert {"Settings", "Production", "Costs"} <= set(wb.sheetnames)  # the close template's input sheets
    assert has_close_button(workbook)
    assert "close_month" in launcher.read_text() and launcher.stem == workbook.stem  # SampleCall imports it


def test_vba_and_button_survive_openpyxl_writes(tmp_path):
    workbook, _ = build_macro_workbook(TEMPLATE, tmp_path)
    before = vba_project_hash(workbook)
    for _ in range(2):
        wb = openpyxl.load_workbook(workbook, keep_vba=True)
        wb["Instructions"]["A30"] = "written by openpyxl"
        wb.save(workbook)
    assert vba_project_hash(workbook) == before
    assert has_close_button(workbook)
    with zipfile.ZipFile(workbook) as z:
        vml = [n for n in z.namelist() if n.endswith(".vml")]
        assert any(f"[0]!{MACRO}" in z.read(n).decode() for n in vml)
    assert "xlwings.conf" in openpyxl.load_workbook(workbook, keep_vba=True).sheetnames
