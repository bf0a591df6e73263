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
from ._numbers import separator_hint

__all__ = ["read_data_file", "spreadsheet_problem"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last one), and notes
    numbers a comma split in two inside ``{…}`` (``split_numbers``: where each starts, as written)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.split_numbers: list[tuple[yaml.Mark, str]] = []


_MERGE_TAG = "tag:yaml.org,2002:merge"


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_NULL_TAG = "tag:yaml.org,2002:null"


def _split_numbers(node: yaml.MappingNode) -> tuple[set[int], list[tuple[yaml.Mark, str]]]:
    """A number with a comma in a flow mapping (``{materials: 36,000.00}``, ``{complete: 0,4}``):
    the comma ends the value there, and the digits after it become a key with no value.  Returns
    the indices of those keys (left out of the mapping) and, for each number so split, where it
    starts and how it was written."""
    pairs = node.value
    dropped: set[int] = set()
    split: list[tuple[yaml.Mark, str]] = []
    j = 1
    while j < len(pairs):
        value = pairs[j - 1][1]
        if not (isinstance(value, yaml.ScalarNode) and value.style is None and value.tag in _NUMBER_TAGS):
            j += 1
            continue
        text = value.value
        while j < len(pairs) and _is_split_off(*pairs[j]):
            text += "," + pairs[j][0].value
            dropped.add(j)
            j += 1
        if text != value.value:
            split.append((value.start_mark, text))
        j += 1
    return dropped, split


def _is_split_off(key: yaml.Node, value: yaml.Node) -> bool:
    """A key of digits written with no value: what follows a comma inside a number in ``{…}``."""
    return (isinstance(key, yaml.ScalarNode) and key.style is None and key.tag in _NUMBER_TAGS
            and isinstance(value, yaml.ScalarNode) and value.tag == _NULL_TAG and value.value == "")


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    dropped: set[int] = set()
    if node.flow_style:
        dropped, split = _split_numbers(node)
        loader.split_numbers.extend(split)
    for i, (key_node, value_node) in enumerate(node.value):
        if i in dropped:
            continue
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
        return _not_a_workbook(raw) if read_as_workbook else None
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


def _not_a_workbook(raw: bytes) -> str:
    """What to say of a file named .xlsx (or .xlsm) that is not the zip package a workbook is."""
    if not raw.strip():
        return "an empty file, not an Excel workbook; save the close workbook from Excel as .xlsx (Excel Workbook)"
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ("not an Excel workbook, whatever its name says (an .xlsx file is a zip package, and this one is "
                "not: damaged, cut short in copying, or another kind of file); save the close workbook from Excel "
                "as .xlsx (Excel Workbook) and close that")
    return ("a text file, not an Excel workbook, whatever its name says; a close file (YAML or JSON) is named "
            ".yaml or .json, and a close workbook is saved from Excel as .xlsx (Excel Workbook)")


def read_data_file(path: str | Path) -> tuple[Any, list[Issue]]:
    """Parse a YAML or JSON file into plain data; problems come back as located issues.

    Numbers with a decimal point, in YAML as in JSON, are read as the Decimal of the digits written,
    so nothing is lost and no float reaches the spec layer.
    """
    path = Path(path)
    source = str(path)
    if path.is_dir():
        return None, [Issue("UNREADABLE_FILE", "", "is a folder, not a file; give the file itself (a YAML "
                                                   "or JSON file, or for `wip close` a close workbook .xlsx)", source)]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Issue("FILE_NOT_FOUND", "", f"no such file: {source}", source)]
    except OSError as e:
        return None, [Issue("UNREADABLE_FILE", "", f"cannot read {source}: {e.strerror or e}", source)]
    spreadsheet = spreadsheet_problem(path, raw)
    if spreadsheet is not None:
        return None, [Issue("UNREADABLE_FILE", "", spreadsheet, source)]
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Notepad's UTF-8) is no content
    except UnicodeDecodeError as e:
        return None, [_not_utf8(raw, e, source)]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_float=_json_decimal, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as e:
            return None, [Issue("INVALID_SYNTAX", f"line {e.lineno}, column {e.colno}", f"invalid JSON: {e.msg}", source)]
        except _DuplicateKey as e:
            return None, [Issue("INVALID_SYNTAX", "", f"invalid JSON: duplicate key {e.key!r} (the second would "
                                                     "silently replace the first)", source)]
        return _whole_file(data, path, text)
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        where, message = _yaml_problem(e)
        return None, [Issue("INVALID_SYNTAX", where, message, source)]
    except yaml.YAMLError as e:
        return None, [Issue("INVALID_SYNTAX", "", f"invalid YAML: {e}", source)]
    finally:
        loader.dispose()
    if loader.split_numbers:
        return None, [Issue("NOT_A_NUMBER", f"line {mark.line + 1}, column {mark.column + 1}",
                            f"{written} is cut in two at its comma (inside {{…}} a comma ends a value); "
                            + (separator_hint(written) or "write the number without commas"), source)
                      for mark, written in loader.split_numbers]
    return _whole_file(data, path, text)


def _whole_file(data: Any, path: Path, text: str) -> tuple[Any, list[Issue]]:
    """``data``, or what to say of a file that read as one value (text, a number) rather than keys
    and values: a CSV file, most often."""
    if data is None or isinstance(data, (dict, list)):
        return data, []
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if path.suffix.lower() in (".csv", ".tsv", ".txt") or "," in first or "\t" in first or ";" in first:
        said = "a table of values (CSV), not keys and values"
    else:
        said = "one value, not keys and values"
    return None, [Issue("WRONG_TYPE", "", f"the file reads as {said}: close and case files are YAML or JSON "
                                          "`key: value` lines (see examples/demo/close-2026-10.yaml and case.yaml); "
                                          "`wip close` also reads a close workbook (.xlsx)", str(path))]


def _not_utf8(raw: bytes, error: UnicodeDecodeError, source: str) -> Issue:
    """A file saved in another encoding than UTF-8 (Windows-1252, Latin-1): where, and what to do."""
    start = error.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
    line = raw.count(b"\n", 0, start) + 1
    column = start - (raw.rfind(b"\n", 0, start) + 1) + 1
    return Issue("UNREADABLE_FILE", f"line {line}, column {column}",
                 f"byte 0x{raw[start]:02x} is not UTF-8 text: the file was saved in another encoding (Windows-1252 or "
                 "Latin-1, e.g. for ä, ü, é, £); save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8)", source)


def _yaml_problem(e: yaml.MarkedYAMLError) -> tuple[str, str]:
    """PyYAML's error as a location and a message in plain words: what is wrong at that line, and
    what to check.  Problems it does not know keep PyYAML's words."""
    problem, context = e.problem or "", e.context or ""
    mark, opened = e.problem_mark, e.context_mark

    def at(m: yaml.Mark | None) -> str:
        return f"line {m.line + 1}, column {m.column + 1}" if m is not None else ""

    if problem == "expected <block end>, but found '<scalar>'":
        return at(mark), ("more text after a quoted value on this line: put the whole value in one pair of quotes, "
                          "or check this line's indentation")
    if problem.startswith("expected <block end>"):
        begun = f" (the block begun at line {opened.line + 1})" if opened is not None else ""
        return at(mark), ("this line is indented differently from the lines above it" + begun + ": keys at one level "
                          "start in the same column, and a list's '- ' items too; indent with spaces, as the lines "
                          "around it are")
    if problem == "mapping values are not allowed here":
        return at(mark), ("a ':' where no key can start: check this line's indentation (deeper than the key above "
                          "takes?), a second 'key:' on one line, or a value holding ': ' (put it in quotes '...')")
    if problem == "could not find expected ':'":
        return at(opened or mark), ("this line is not `key: value`: a ':' (and a space after it) is missing after "
                                    "the key, or a value broke onto this line")
    if problem.startswith("found character '\\t'"):
        return at(mark), "a tab character: YAML indents with spaces only; replace the tab with spaces"
    if problem.startswith("found character ") and problem.endswith("that cannot start any token"):
        char = problem[len("found character "):-len(" that cannot start any token")]
        return at(mark), f"a value cannot start with {char} in YAML: put the value in quotes ('...')"
    if problem == "found unexpected end of stream" and context.startswith("while scanning a quoted"):
        return at(opened or mark), "this quote is never closed: add the closing quote (or remove the opening one)"
    if problem.startswith("expected ',' or '}'") or problem.startswith("expected ',' or ']'"):
        close = "}" if "}" in problem else "]"
        brackets = "{…}" if close == "}" else "[…]"
        what = f"the {brackets} begun at {at(opened)}" if opened is not None else f"a {brackets}"
        return at(mark), f"{what} is not closed: add the '{close}' (or a ',' between its entries is missing)"
    if problem.startswith("found undefined alias"):
        return at(mark), "'*' begins a YAML alias: put the value in quotes ('...')"
    if context.startswith("expected a single document"):
        return at(mark), "a second YAML document (a '---' line) starts here: keep one document per file"
    if problem == "expected the node content, but found '<stream end>'":
        return at(mark), ("the file ends where a value should follow: a '[' or '{' above is not closed, or the last "
                          "key has no value")
    where = at(mark or opened)
    return where, f"invalid YAML: {problem or context}"
