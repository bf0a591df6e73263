"""The macro-enabled close workbook: the close template with xlwings' standalone VBA project,
its configuration sheet pointing the UDF modules at ``excel_addin.functions``, and a
"Close month" button.

- The VBA project is xlwings' own ``quickstart_standalone.xlsm`` project from the installed,
  pinned xlwings (its ``XLWINGS_VERSION`` constant is that version), copied byte for byte: the
  xlwings module (``RunPython``, ``ImportPythonUDFs``) and ``Module1.SampleCall``, which runs
  ``import <workbook name>; <workbook name>.main()``.  So the workbook is ``wip_close.xlsm`` and
  ships with ``wip_close.py`` beside it, whose ``main()`` calls ``excel_addin.close.close_month``.
- The button is a form control (VML) on the Instructions sheet assigned to ``SampleCall``.
  openpyxl keeps VML drawings of macro workbooks when it saves them (``keep_vba=True``), and
  ``ensure_close_button`` puts the button back should a writer have dropped it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import xlwings

__all__ = ["WORKBOOK_NAME", "vba_source", "build_macro_workbook", "ensure_close_button", "has_close_button",
           "vba_project_hash", "MACRO"]

WORKBOOK_NAME = "wip_close"
MACRO = "SampleCall"
CONFIG_SHEET = "xlwings.conf"
BUTTON_SHEET = "Instructions"
_VML_PATH = "xl/drawings/vmlDrawing1.vml"  # openpyxl keeps xl/drawings/vmlDrawing<digit>.vml of macro books
_REL_ID = "rIdWipCloseButton"
_VML_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
_VML_CT = "application/vnd.openxmlformats-officedocument.vmlDrawing"

_BUTTON_VML = f"""<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">
 <o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>
 <v:shapetype id="_x0000_t201" coordsize="21600,21600" o:spt="201" path="m,l,21600r21600,l21600,xe">
  <v:stroke joinstyle="miter"/><v:path shadowok="f" o:extrusionok="f" strokeok="f" fillok="f" o:connecttype="rect"/>
  <o:lock v:ext="edit" shapetype="t"/>
 </v:shapetype>
 <v:shape id="_x0000_s1025" type="#_x0000_t201" style="position:absolute;margin-left:400pt;margin-top:6pt;width:110pt;height:30pt;z-index:1" o:button="t" fillcolor="buttonFace [67]" strokecolor="windowText [64]" o:insetmode="auto">
  <v:fill color2="buttonFace [67]" o:detectmouseclick="t"/>
  <o:lock v:ext="edit" rotation="t"/>
  <v:textbox style="mso-direction-alt:auto" o:singleclick="f"><div style="text-align:center"><font face="Calibri" size="220" color="#000000">Close month</font></div></v:textbox>
  <x:ClientData ObjectType="Button">
   <x:Anchor>7, 0, 0, 8, 9, 0, 2, 0</x:Anchor>
   <x:PrintObject>False</x:PrintObject>
   <x:AutoFill>False</x:AutoFill>
   <x:FmlaMacro>[0]!{MACRO}</x:FmlaMacro>
   <x:TextHAlign>Center</x:TextHAlign>
   <x:TextVAlign>Center</x:TextVAlign>
  </x:ClientData>
 </v:shape>
</xml>
"""

_LAUNCHER = '''"""Launched by the "Close month" button of wip_close.xlsm (xlwings' SampleCall runs
`import wip_close; wip_close.main()`, named after the workbook).  Keep this file beside the workbook."""


def main():
    from excel_addin.close import close_month

    close_month()
'''


def vba_source() -> Path:
    """xlwings' standalone quickstart workbook of the installed (pinned) version."""
    return Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"


def vba_project_hash(path: str | Path) -> str:
    with zipfile.ZipFile(path) as z:
        return hashlib.sha256(z.read("xl/vbaProject.bin")).hexdigest()


def build_macro_workbook(template: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``wip_close.xlsm`` and ``wip_close.py`` into ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.load_workbook(template)
    wb.vba_archive = zipfile.ZipFile(vba_source())
    wb.code_name = "ThisWorkbook"  # the VBA project's document module for the workbook
    for i, ws in enumerate(wb.worksheets, start=1):
        ws.sheet_properties.codeName = f"Sheet{i}"
    if CONFIG_SHEET in wb.sheetnames:
        del wb[CONFIG_SHEET]
    config = wb.create_sheet(CONFIG_SHEET)
    config.sheet_properties.codeName = f"Sheet{len(wb.worksheets)}"
    # xlwings reads this sheet (key | value) when the workbook calls Python.
    for row in (["UDF Modules", "excel_addin.functions"], ["Use UDF Server", False],
                ["Show Console", False], ["Debug UDFs", False]):
        config.append(row)
    config.sheet_state = "visible"
    target = out_dir / f"{WORKBOOK_NAME}.xlsm"
    with tempfile.NamedTemporaryFile(dir=out_dir, suffix=".xlsm", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        wb.save(tmp_path)
        ensure_close_button(tmp_path)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    launcher = out_dir / f"{WORKBOOK_NAME}.py"
    launcher.write_text(_LAUNCHER, encoding="utf-8")
    return target, launcher


def _sheet_part(z: zipfile.ZipFile, title: str) -> str:
    workbook = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    m = re.search(r'<sheet [^>]*name="%s"[^>]*r:id="([^"]+)"' % re.escape(title), workbook)
    if m is None:
        raise ValueError(f"no sheet {title!r} in the workbook")
    rel = re.search(r'<Relationship [^>]*Target="([^"]+)"[^>]*Id="%s"|<Relationship [^>]*Id="%s"[^>]*Target="([^"]+)"'
                    % (m.group(1), m.group(1)), rels)
    target = rel.group(1) or rel.group(2)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def has_close_button(path: str | Path) -> bool:
    with zipfile.ZipFile(path) as z:
        sheet = _sheet_part(z, BUTTON_SHEET)
        rels_name = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rels_name not in z.namelist() or "<legacyDrawing" not in z.read(sheet).decode():
            return False
        rels = z.read(rels_name).decode()
        m = re.search(r'Target="([^"]*vmlDrawing[^"]*)"', rels)
        if m is None:
            return False
        vml_name = "xl/" + m.group(1).replace("../", "") if not m.group(1).startswith("/") else m.group(1)[1:]
        return vml_name in z.namelist() and f"[0]!{MACRO}" in z.read(vml_name).decode()


def ensure_close_button(path: str | Path) -> None:
    """Add the form-control button to the Instructions sheet unless it is there (rewrites the zip)."""
    path = Path(path)
    if has_close_button(path):
        return
    with zipfile.ZipFile(path) as z:
        items = {name: z.read(name) for name in z.namelist()}
        sheet = _sheet_part(z, BUTTON_SHEET)
    rels_name = sheet.replace("worksheets/", "worksheets/_rels/") + ".rels"
    xml = items[sheet].decode()
    # legacyDrawing goes after drawing and before legacyDrawingHF/tableParts/extLst (schema order).
    tag = f'<legacyDrawing r:id="{_REL_ID}"/>'
    if 'xmlns:r=' not in xml.split(">", 2)[1] + xml.split(">", 2)[0]:
        xml = xml.replace("<worksheet ", '<worksheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ', 1)
    for anchor in ("<legacyDrawingHF", "<picture", "<oleObjects", "<controls", "<webPublishItems", "<tableParts",
                   "<extLst", "</worksheet>"):
        if anchor in xml:
            xml = xml.replace(anchor, tag + anchor, 1)
            break
    items[sheet] = xml.encode()
    rel = f'<Relationship Id="{_REL_ID}" Type="{_VML_REL}" Target="/{_VML_PATH}"/>'
    if rels_name in items:
        items[rels_name] = items[rels_name].decode().replace("</Relationships>", rel + "</Relationships>").encode()
    else:
        items[rels_name] = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                            + rel + "</Relationships>").encode()
    items[_VML_PATH] = _BUTTON_VML.encode()
    types = items["[Content_Types].xml"].decode()
    if 'Extension="vml"' not in types:
        types = types.replace("<Default ", f'<Default Extension="vml" ContentType="{_VML_CT}"/><Default ', 1)
    items["[Content_Types].xml"] = types.encode()
    tmp = path.with_suffix(".button.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in items.items():
            out.writestr(name, data)
    os.replace(tmp, path)

