"""Case files on disk (YAML or JSON) — the I/O boundary of the costing core."""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ._errors import Issue

__all__ = ["read_data_file", "spreadsheet_problem"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last one)."""


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            # A merge key copies another mapping's keys in, and lets the keys written beside it
            # silently replace the copied ones — the silent replacement duplicate keys are refused for.
            raise yaml.constructor.ConstructorError(
                None, None, "YAML merge keys (<<) are not supported; write the keys out", key_node.start_mark)
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (list, dict)):
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a name, found a {'list' if isinstance(key, list) else 'mapping'}",
                key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen[key] = loader.construct_object(value_node, deep=deep)
    return seen


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _decimal(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """A YAML float as the Decimal of the digits written (4650.00 stays 4650.00, not 4650.0), so
    amounts keep their places and never pass through binary floating point.  .inf and .nan stay
    floats (the spec layer refuses them); base-60 (1:30.5) and grouped (1_000.5) forms stay the text
    written, which is not plain decimal notation and is refused where a number is expected."""
    text = str(loader.construct_scalar(node))
    if ":" in text or "_" in text:
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is not None and value.is_finite():
        if "e" in text.lower() and value.adjusted() < 15:
            value = Decimal(format(value, "f"))  # 1.2e+3 as 1200: plain notation in messages and reports
        return value
    return loader.construct_yaml_float(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _json_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, read as YAML's are: the Decimal of the digits
    written, an exponent within the number limit in plain notation (3e2 as 300)."""
    value = Decimal(text)
    if "e" in text.lower() and value.adjusted() < 15:
        value = Decimal(format(value, "f"))
    return value

_DECIMAL_INTEGER = re.compile(r"[-+]?[0-9]+")


def _integer(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """A YAML integer in decimal digits, leading zeros included (0100 is 100, never octal 64).
    YAML 1.1's other integer forms — 0x3E8, 0o17, 0b101, 1_000, base-60 1:30 — stay the text
    written: a number in them would be read silently as something other than what an accountant
    sees, so they are refused where a number is expected ("expected a number, found '0x3E8'")."""
    text = str(loader.construct_scalar(node))
    return int(text, 10) if _DECIMAL_INTEGER.fullmatch(text) else text


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _integer)
# Dates stay the text written: a period is YYYY-MM, and 2026-10-31 in its place is refused quoting
# what was typed, not a Python date.
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                 lambda loader, node: str(loader.construct_scalar(node)))


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object, refusing a key given twice (json keeps the last one silently; YAML is refused
    the same way by ``_UniqueKeyLoader``)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


# Spreadsheets wip does not read, by extension; and by their first bytes, for one saved under
# another name (a .xls renamed .yaml would otherwise be reported as text that is not UTF-8).
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # Office 97-2003 files: .xls (and .doc, .ppt)
_ZIP_MAGIC = b"PK\x03\x04"
_SAVE_AS_XLSX = ("save it as .xlsx (Excel Workbook) and close that: wip close reads a close workbook "
                 "(.xlsx or .xlsm); other input files are YAML or JSON text")
_SPREADSHEETS = {
    ".xls": "an Excel 97-2003 workbook (.xls), which wip does not read",
    ".xlsb": "an Excel binary workbook (.xlsb), which wip does not read",
    ".ods": "an OpenDocument spreadsheet (.ods), which wip does not read",
}


def spreadsheet_problem(path: Path, raw: bytes, *, read_as_workbook: bool = False) -> str | None:
    """What to say of a spreadsheet wip does not read, handed in where a YAML or JSON file belongs
    or (``read_as_workbook``: a file named .xlsx that openpyxl could not open) where a close
    workbook does; None when ``raw`` is none of them."""
    said = _SPREADSHEETS.get(path.suffix.lower())
    if said is not None:
        return f"{said}; {_SAVE_AS_XLSX}"
    if raw.startswith(_OLE2_MAGIC):
        # Excel also saves a workbook encrypted with a password in this container, .xlsx or not.
        return ("an Excel 97-2003 workbook (.xls), or a workbook encrypted with a password, whatever its name "
                "says, which wip does not read; save it as .xlsx (Excel Workbook, no password) and close that: wip "
                "close reads a close workbook (.xlsx or .xlsm); other input files are YAML or JSON text")
    if not raw.startswith(_ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").decode("ascii", "replace").strip() if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):  # a damaged or encrypted archive
        return None if read_as_workbook else "a zip archive, not YAML or JSON text; give the case or close file itself"
    if mimetype.startswith("application/vnd.oasis.opendocument.spreadsheet"):
        return f"an OpenDocument spreadsheet (.ods), whatever its name says, which wip does not read; {_SAVE_AS_XLSX}"
    if "xl/workbook.bin" in names:
        return f"an Excel binary workbook (.xlsb), whatever its name says, which wip does not read; {_SAVE_AS_XLSX}"
    if read_as_workbook:
        return None
    if "xl/workbook.xml" in names and path.suffix.lower() in (".xlsx", ".xlsm"):
        # Named as a workbook already: renaming it is no step; the command is the wrong one.
        return ("an Excel workbook, which this command does not read: it reads a YAML or JSON file; a close "
                "workbook goes to `wip close`")
    if "xl/workbook.xml" in names:
        return ("an Excel workbook saved under another name: name it .xlsx (or .xlsm) — wip close reads a close "
                "workbook by that extension; other input files are YAML or JSON text")
    return "a zip archive, not YAML or JSON text; give the case or close file itself"


def read_data_file(path: str | Path) -> tuple[Any, list[Issue]]:
    """Parse a YAML or JSON file into plain data; problems come back as located issues.

    Numbers with a decimal point, in YAML as in JSON, are read as the Decimal of the digits written,
    so nothing is lost and no float reaches the spec layer.
    """
    path = Path(path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Issue("FILE_NOT_FOUND", "", f"no such file: {source}", source)]
    except OSError as e:
        return None, [Issue("UNREADABLE_FILE", "", f"cannot read {source}: {e}", source)]
    spreadsheet = spreadsheet_problem(path, raw)
    if spreadsheet is not None:
        return None, [Issue("UNREADABLE_FILE", "", spreadsheet, source)]
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Notepad's UTF-8) is no content
    except UnicodeDecodeError as e:
        return None, [Issue("UNREADABLE_FILE", "", f"cannot read {source}: {e}", source)]
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text, parse_float=_json_decimal, object_pairs_hook=_unique_keys), []
        except json.JSONDecodeError as e:
            return None, [Issue("INVALID_SYNTAX", f"line {e.lineno}, column {e.colno}", f"invalid JSON: {e.msg}", source)]
        except _DuplicateKey as e:
            return None, [Issue("INVALID_SYNTAX", "", f"invalid JSON: duplicate key {e.key!r} (the second would "
                                                     "silently replace the first)", source)]
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [Issue("INVALID_SYNTAX", where, f"invalid YAML: {e.problem or e.context}", source)]
    except yaml.YAMLError as e:
        return None, [Issue("INVALID_SYNTAX", "", f"invalid YAML: {e}", source)]
