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
from ._numbers import LIKE_DOT_GROUPED, TextLikeGrouped, TypedLikeGrouped, separator_hint

__all__ = ["read_data_file", "spreadsheet_problem", "TypedLikeGrouped"]




def _decimal_of(text: str) -> Decimal:
    """The Decimal of a number's digits as typed, marked ``TypedLikeGrouped`` when so written.

    >>> value = _decimal_of("36.000"); value == Decimal("36.000"), value.like_dot_grouped
    (True, True)
    >>> [type(_decimal_of(t)).__name__ for t in ("36000.000", "1234.000", "0.500", "36.00", "-9.455")]
    ['Decimal', 'Decimal', 'Decimal', 'Decimal', 'TypedLikeGrouped']
    """
    return TypedLikeGrouped(text) if LIKE_DOT_GROUPED.fullmatch(text) else Decimal(text)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (YAML would silently keep the last one), and notes
    numbers a comma split in two inside ``{…}`` (``split_numbers``: where each starts, as written)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.split_numbers: list[tuple[yaml.Mark, str]] = []
        self.duplicates: list[tuple[yaml.Mark, Any]] = []  # every key written twice, reported together


_MERGE_TAG = "tag:yaml.org,2002:merge"


_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_NULL_TAG = "tag:yaml.org,2002:null"
# Digits as written after a comma inside a number: by the text, not the tag PyYAML resolves (it
# reads 080 or 089 as text, not a number: not octal, and not decimal in YAML 1.1 either).
# A currency sign, parentheses or digits grouped by spaces are taken in too ({materials: $36,000.00},
# {labour: 9 450,00}): the number, as written, is told how to write it (``separator_hint``).
_DIGITS_AFTER_COMMA = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:%|\)|\s?[$€£¥₹])?")
_DIGITS_BEFORE_COMMA = re.compile(r"\(?[-+]?[$€£¥₹]?[0-9]+(?:[ \u00a0\u202f\u2009'’.][0-9]+)*")


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
        if not (isinstance(value, yaml.ScalarNode) and value.style is None
                and (value.tag in _NUMBER_TAGS or _DIGITS_BEFORE_COMMA.fullmatch(value.value))):
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
    return (isinstance(key, yaml.ScalarNode) and key.style is None and _DIGITS_AFTER_COMMA.fullmatch(key.value)
            is not None and isinstance(value, yaml.ScalarNode) and value.tag == _NULL_TAG and value.value == "")


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
            loader.duplicates.append((key_node.start_mark, key))  # the first kept; the file is refused
            continue
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
        value = _decimal_of(text)
    except InvalidOperation:
        value = None
    if value is not None and value.is_finite():
        return _plain_if_exponent(value, text)
    return loader.construct_yaml_float(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _text(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """A YAML string; one quoted like 2.900 marked as so typed (``_marked``)."""
    return _marked(loader.construct_yaml_str(node))


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:str", _text)


def _boolean(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """true and false as booleans; YAML 1.1's other words for them (yes, no, on, off) as the text
    written, as YAML 1.2 reads them: no field takes a boolean, and a product named No stays No, a
    `started: yes` is told it found 'yes', not True."""
    text = loader.construct_scalar(node)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return _marked(text)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:bool", _boolean)


def _json_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, read as YAML's are: the Decimal of the digits
    written, an exponent within the number limit in plain notation (3e2 as 300)."""
    return _plain_if_exponent(_decimal_of(text), text)


def _plain_if_exponent(value: Decimal, text: str) -> Decimal:
    """A number written with an exponent, in plain notation (1.2e+3 as 1200: so messages and
    reports show it), when that stays short: not past the number limit, nor 1e-999999999 (a
    billion zeros), which stay as written and are refused or shown as such."""
    if "e" in text.lower() and -40 < value.adjusted() < 15:
        return Decimal(format(value, "f"))
    return value

_DECIMAL_INTEGER = re.compile(r"[-+]?[0-9]+")


def _integer(loader: _UniqueKeyLoader, node: yaml.ScalarNode) -> Any:
    """A YAML integer in decimal digits, leading zeros included (0100 is 100, never octal 64).
    YAML 1.1's other integer forms — 0x3E8, 0o17, 0b101, 1_000, base-60 1:30 — stay the text
    written: a number in them would be read silently as something other than what an accountant
    sees, so they are refused where a number is expected ("expected a number, found '0x3E8'")."""
    text = str(loader.construct_scalar(node))
    return _whole_number(text) if _DECIMAL_INTEGER.fullmatch(text) else text


def _whole_number(text: str) -> int | Decimal:
    """An integer as written; past Python's 4,300 digits for int() a Decimal (refused as too large
    where it is read, NUMBER_TOO_LARGE, not a traceback)."""
    return int(text, 10) if len(text) < 4000 else Decimal(text)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _integer)
# Dates stay the text written: a period is YYYY-MM, and 2026-10-31 in its place is refused quoting
# what was typed, not a Python date.
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                 lambda loader, node: str(loader.construct_scalar(node)))


class _DuplicateKey(ValueError):
    """A JSON object gave a key twice: raised on the first, so that ``_json_duplicates`` finds every one."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object, refusing a key given twice (json keeps the last one silently; YAML is refused
    the same way by ``_UniqueKeyLoader``)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = _marked(value)
    return out


def _json_duplicates(text: str) -> list[tuple[int, int, str]]:
    """(line, column, key) of every key an object of this JSON text gives again, in order of the
    text: the parser's hook sees no positions, and a file with one repeated key often has more (a
    pasted block), so they are found by reading the text once more, only when there are some.  Up
    to a syntax problem of the text's own (a bracket too many, a tab in a string), said apart."""
    found: list[tuple[int, int, str]] = []
    try:
        _scan_duplicates(text, found)
    except (ValueError, IndexError):  # the text's own syntax problem: the duplicates before it stand
        pass
    return found


def _scan_duplicates(text: str, found: list[tuple[int, int, str]]) -> None:
    keys: list[set | None] = []  # per open bracket: the object's keys so far, None for an array
    i, end = 0, len(text)
    line, counted = 1, 0  # the line of text[counted]
    while i < end:
        char = text[i]
        if char == '"':
            value, after = json.decoder.scanstring(text, i + 1)
            colon = after
            while colon < end and text[colon] in " \t\r\n":
                colon += 1
            if colon < end and text[colon] == ":" and keys and keys[-1] is not None:
                if value in keys[-1]:
                    line += text.count("\n", counted, i)  # counted on from the last one: a pasted block
                    counted = i  # may repeat thousands of keys
                    found.append((line, i - (text.rfind("\n", 0, i) + 1) + 1, value))
                keys[-1].add(value)
            i = after
            continue
        if char == "{":
            keys.append(set())
        elif char == "[":
            keys.append(None)
        elif char in "}]":
            keys.pop()
        i += 1


# No close or case file nests deeper than a dozen levels; hundreds would reach Python's recursion
# limit in what reads the values (copying them, writing one in a message).
_DEEPEST = 64


def _nested_deeper(data: Any, limit: int) -> bool:
    """Whether ``data`` holds lists or mappings more than ``limit`` levels deep (looked at without
    recursion, each shared value once at each depth: a YAML alias is one value however often used)."""
    stack, seen = [(data, 1)], set()
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if (id(value), depth) in seen:
            continue
        seen.add((id(value), depth))
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _too_deep(source: str | None) -> Issue:
    return Issue("INVALID_SYNTAX", "", f"values are nested more than {_DEEPEST} levels deep ([[[… or {{{{{{…), which "
                                       "no close or case file holds: the file is damaged or was not written for wip",
                 source)


def _marked(value: Any) -> Any:
    """A quoted value written like 2.900 (``LIKE_DOT_GROUPED``) marked as so typed
    (``TextLikeGrouped``), so that a number read from it is refused as a '.'-grouping locale's
    thousands where an unquoted one is; any other value as it is."""
    # Cheap tests first: a large close file has millions of values, few of them quoted numbers.
    if value.__class__ is str and "." in value and LIKE_DOT_GROUPED.fullmatch(value.strip()):
        return TextLikeGrouped(value)
    return value


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
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv") and raw.strip():
        # A table saved from a spreadsheet: said so before YAML reads it as whatever it happens to be
        # ('expected <document start>' at a quoted header's comma, a tab character, one long value).
        return None, [_csv_problem(path)]
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Notepad's UTF-8) is no content
    except UnicodeDecodeError as e:
        return None, [_not_utf8(raw, e, source)]
    if "\x00" in text:  # UTF-16 or UTF-32 without a byte-order mark (every other byte 0), or no text file
        line = text.count("\n", 0, text.index("\x00")) + 1
        return None, [Issue("UNREADABLE_FILE", f"line {line}", "the file holds NUL bytes, which text files do not: "
                            "it was saved as UTF-16 or UTF-32 (\"Unicode\") without a byte-order mark, or it is no "
                            "text file; save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8)", source)]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_float=_json_decimal, parse_int=_whole_number, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as e:
            return None, [Issue("INVALID_SYNTAX", f"line {e.lineno}, column {e.colno}", _json_problem(e, text), source)]
        except RecursionError:
            return None, [_too_deep(source)]
        except _DuplicateKey as e:
            # json stops at the first: what follows is read again for its own syntax problem, if any.
            syntax = []
            try:
                json.loads(text, parse_float=_json_decimal, parse_int=_whole_number)
            except json.JSONDecodeError as later:
                syntax = [Issue("INVALID_SYNTAX", f"line {later.lineno}, column {later.colno}",
                                _json_problem(later, text), source)]
            except RecursionError:
                syntax = [_too_deep(source)]
            found = [(f"line {line}, column {column}", key) for line, column, key in _json_duplicates(text)]
            return None, [Issue("INVALID_SYNTAX", where, f"invalid JSON: duplicate key {key!r} (the second would "
                                "silently replace the first)", source)
                          for where, key in found or [("", e.args[0])]] + syntax
        return _whole_file(data, path, text)
    try:
        loader = _UniqueKeyLoader(text)
    except yaml.reader.ReaderError as e:  # a control character YAML takes for no text (checked on reading in)
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        return None, [Issue("UNREADABLE_FILE", f"line {line}, column {column}",
                            f"character U+{e.character:04X} is a control character, not text a close or case "
                            "file holds; delete it (it may have come with text pasted from another program)", source)]
    try:
        data = loader.get_single_data()
    except RecursionError:
        return None, [_too_deep(source)]
    except yaml.MarkedYAMLError as e:
        if suffix == ".txt" and _tabular(text):
            return None, [_csv_problem(path)]  # a table exported as text, not a close file saved as .txt
        where, message = _yaml_problem(e, text)
        return None, [Issue("INVALID_SYNTAX", where, message, source)]
    except yaml.YAMLError as e:
        return None, [Issue("INVALID_SYNTAX", "", f"invalid YAML: {e}", source)]
    finally:
        loader.dispose()
    if loader.duplicates:
        return None, [Issue("INVALID_SYNTAX", f"line {mark.line + 1}, column {mark.column + 1}",
                            f"invalid YAML: duplicate key {key!r} (the second would silently replace the first)",
                            source) for mark, key in loader.duplicates]
    if loader.split_numbers:
        return None, [Issue("NOT_A_NUMBER", f"line {mark.line + 1}, column {mark.column + 1}",
                            f"{written} is cut in two at its comma (inside {{…}} a comma ends a value); "
                            + (separator_hint(written) or "write the number without commas"), source)
                      for mark, written in loader.split_numbers]
    return _whole_file(data, path, text)


def _whole_file(data: Any, path: Path, text: str) -> tuple[Any, list[Issue]]:
    """``data``, or what to say of a file that read as one value (text, a number) rather than keys
    and values: a CSV file, most often."""
    if isinstance(data, (dict, list)) and _nested_deeper(data, _DEEPEST):
        return None, [_too_deep(str(path))]
    if data is None or isinstance(data, (dict, list)):
        return data, []
    if path.suffix.lower() in (".csv", ".tsv", ".txt") or _tabular(text):
        return None, [_csv_problem(path)]
    return None, [_wrong_type(path, "one value, not keys and values")]


def _tabular(text: str) -> bool:
    """Whether the first line reads as a table's row (values between commas, tabs or semicolons)
    rather than YAML's `key: value`."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return any(c in first for c in ",\t;") and ": " not in first and not first.rstrip().endswith(":")


def _csv_problem(path: Path) -> Issue:
    return _wrong_type(path, "a table of values (CSV), not keys and values")


def _wrong_type(path: Path, said: str) -> Issue:
    return Issue("WRONG_TYPE", "", f"the file reads as {said}: close and case files are YAML or JSON `key: value` "
                                   "lines (see examples/demo/close-2026-10.yaml and case.yaml); `wip close` also "
                                   "reads a close workbook (.xlsx)", str(path))


def _json_problem(error: json.JSONDecodeError, text: str) -> str:
    r"""The JSON reader's complaint, with the usual cause in plain words: a comma after the last item,
    a comment, single quotes, or a YAML file named .json.

    >>> import json
    >>> def said(text):
    ...     try:
    ...         json.loads(text)
    ...     except json.JSONDecodeError as e:
    ...         return _json_problem(e, text)
    >>> said('{"a": 1,}')
    'invalid JSON: a comma after the last item (JSON allows none there): remove it'
    >>> said('{"a": [1, 2,]}')
    'invalid JSON: a comma after the last item (JSON allows none there): remove it'
    >>> said('{// note\n"a": 1}')
    'invalid JSON: a comment (JSON has none): remove it, or write the file as YAML (.yaml), which has # comments'
    >>> said("{'a': 1}")
    'invalid JSON: text in single quotes: JSON writes keys and text in double quotes ("a")'
    >>> said('company: Brew Works\nperiod: 2026-10\n')
    'invalid JSON: the file is named .json but is written as YAML (key: value lines): name it .yaml'
    >>> said('{"name": "Drip\tHome"}')
    'invalid JSON: a tab inside text in quotes, which JSON writes as \\t or \\n (or the closing quote is missing)'
    """
    at = text[error.pos:error.pos + 2]
    before = text[:error.pos].rstrip()[-1:]
    if before == "," and at[:1] in ("}", "]"):
        return "invalid JSON: a comma after the last item (JSON allows none there): remove it"
    if at in ("//", "/*"):
        return "invalid JSON: a comment (JSON has none): remove it, or write the file as YAML (.yaml), which has # comments"
    if at[:1] == "'":
        return "invalid JSON: text in single quotes: JSON writes keys and text in double quotes (\"a\")"
    first = text.lstrip()[:1]
    if error.pos == len(text) - len(text.lstrip()) and first not in ("{", "[") and ":" in text.lstrip().split("\n")[0]:
        return "invalid JSON: the file is named .json but is written as YAML (key: value lines): name it .yaml"
    if error.msg.startswith("Invalid control character"):
        shown = {"\t": "a tab", "\n": "a line break", "\r": "a line break"}.get(at[:1], f"U+{ord(at[:1] or ' '):04X}")
        return (f"invalid JSON: {shown} inside text in quotes, which JSON writes as \\t or \\n (or the closing "
                "quote is missing)")
    return f"invalid JSON: {error.msg}"


def _not_utf8(raw: bytes, error: UnicodeDecodeError, source: str) -> Issue:
    """A file saved in another encoding than UTF-8 (Windows-1252, Latin-1): where, and what to do."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # UTF-32's byte-order mark
        return Issue("UNREADABLE_FILE", "line 1, column 1",
                     "the file was saved as UTF-32, not UTF-8 text; save it as UTF-8", source)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte-order mark: Notepad's "Unicode"
        return Issue("UNREADABLE_FILE", "line 1, column 1",
                     "the file was saved as UTF-16 (Notepad's and Excel's \"Unicode\"), not UTF-8 text; save it as "
                     "UTF-8 (in Notepad: Save as, Encoding: UTF-8)", source)
    bom = raw.startswith(b"\xef\xbb\xbf")
    start = error.start + (3 if bom else 0)
    line = raw.count(b"\n", 0, start) + 1
    line_start = max(raw.rfind(b"\n", 0, start) + 1, 3 if bom else 0)  # the byte-order mark is no column
    # Characters, not bytes: the text before it on its line is UTF-8 (an em dash is one column, not three).
    column = len(raw[line_start:start].decode("utf-8", "replace")) + 1
    return Issue("UNREADABLE_FILE", f"line {line}, column {column}",
                 f"byte 0x{raw[start]:02x} is not UTF-8 text: the file was saved in another encoding (Windows-1252 or "
                 "Latin-1, e.g. for ä, ü, é, £); save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8)", source)


_CONTENT_TOKENS = (yaml.ScalarToken, yaml.FlowMappingStartToken, yaml.FlowMappingEndToken,
                   yaml.FlowSequenceStartToken, yaml.FlowSequenceEndToken, yaml.FlowEntryToken, yaml.ValueToken,
                   yaml.BlockEntryToken, yaml.AliasToken, yaml.AnchorToken, yaml.TagToken)
_BLOCK_TOKENS = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.BlockEntryToken, yaml.KeyToken,
                 yaml.BlockEndToken)
_FLOW_ENDS = (yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
_NO_SPACE_AFTER_DASH = re.compile(r"\s*-[^\s\-]")


class _Near:
    """The tokens around a place PyYAML stopped at (``index`` into the text): the last written
    before it (``before``), the one found there (``found``), and for each '}' or ']' scanned, the
    '{' or '[' it closes (``opening``)."""

    def __init__(self, text: str, index: int):
        self.before: yaml.Token | None = None
        self.found: yaml.Token | None = None
        self.opening: dict[int, yaml.Token] = {}
        open_: list[yaml.Token] = []
        try:
            for token in yaml.scan(text):
                if token.start_mark.index > index:
                    break
                if token.start_mark.index == index and not isinstance(token, yaml.StreamStartToken):
                    self.found = self.found or token  # the first: what the parser met there
                    continue
                if isinstance(token, (yaml.FlowMappingStartToken, yaml.FlowSequenceStartToken)):
                    open_.append(token)
                elif isinstance(token, _FLOW_ENDS) and open_:
                    self.opening[id(token)] = open_.pop()
                if isinstance(token, _CONTENT_TOKENS):
                    self.before = token
        except yaml.YAMLError:
            pass  # the tokens up to the scanner's own problem

    def quoted_before(self) -> yaml.ScalarToken | None:
        token = self.before
        return token if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'") else None


def _line_start(text: str, mark: yaml.Mark) -> bool:
    """Whether only spaces come before ``mark`` on its line."""
    return not text[mark.index - mark.column:mark.index].strip()


# `key: value` (a list item's too): the text before the value, and the value.
_KEY_THEN_VALUE = re.compile(r"(\s*(?:-\s+)?[^\s:#'\"{\[][^:#]*:\s+)([^\s{\[\"'#].*)")
# A list item written `- key: value`: the text before its first key.
_ITEM_WITH_KEY = re.compile(r"(\s*-\s+)[^\s:#'\"{\[-][^:#]*:(?:\s|$)")


def _missing_opening(line: str) -> tuple[int, str] | None:
    """(column, message) of `added_costs: materials: 36000.00, labour: 9450.00}`: a second ':' on the
    line because the '{' (or '[') before the entries is missing, as the '}' (']') closing none says."""
    found = _KEY_THEN_VALUE.fullmatch(line.split(" #")[0].rstrip())
    if found is None:
        return None
    value = found.group(2)
    for opening, closing, brackets in (("{", "}", "{…}"), ("[", "]", "[…]")):
        if value.endswith(closing) and value.count(closing) > value.count(opening):
            return len(found.group(1)) + 1, (f"a '{opening}' is missing here: the entries end with a '{closing}' "
                                             f"that none opens; write them inside {brackets}, "
                                             f"'{found.group(1).strip()} {opening}{value}'")
    return None


def _item_dedented(lines: list[str], row: int) -> tuple[str, str] | None:
    """(where, message) of a list item whose '- ' is indented less than the lines of the item below
    it (`products:` then `- name: A` at column 1, `    stages:` under it): PyYAML stops at the line
    below, which is in order; the item's line is where the indentation differs."""
    above = row - 1
    while above >= 0 and (not lines[above].strip() or lines[above].lstrip().startswith("#")):
        above -= 1
    if above < 0 or row >= len(lines):
        return None
    item = _ITEM_WITH_KEY.match(lines[above])
    indent = len(lines[row]) - len(lines[row].lstrip(" "))
    if item is None or indent <= len(item.group(1)):
        return None
    dash = lines[above].index("-")
    return f"line {above + 1}, column {dash + 1}", (
        f"this list item's keys start at column {len(item.group(1)) + 1}, and the next line's at column "
        f"{indent + 1}: an item's keys start in one column; indent this '- ' as the list's other items are "
        "(or the lines below it less)")


def _yaml_problem(e: yaml.MarkedYAMLError, text: str = "") -> tuple[str, str]:
    """PyYAML's error as a location and a message in plain words: what is wrong at that line, and
    what to check.  The cause is told from what the text holds there (a quote that runs on over
    lines, a '}' too many, text after a '}'); where it is not clear, a plain message with the line
    rather than a wrong cause; problems it does not know keep PyYAML's words."""
    problem, context = e.problem or "", e.context or ""
    mark, opened = e.problem_mark, e.context_mark

    def at(m: yaml.Mark | None) -> str:
        return f"line {m.line + 1}, column {m.column + 1}" if m is not None else ""

    near = _Near(text, mark.index) if mark is not None and text else None
    quoted = near.quoted_before() if near is not None else None
    found = near.found if near is not None else None
    neutral = ("YAML cannot read this line from here: check it for a quote, bracket or ':' missing or left over, "
               "and its indentation against the lines around it")

    if quoted is not None and quoted.end_mark.line > quoted.start_mark.line and quoted.end_mark.line == mark.line:
        # "2026-10 (no closing quote): the value runs on to the next quote, lines below, and what
        # follows that quote is where PyYAML stops.
        return at(quoted.start_mark), (f"this quote is closed only at line {quoted.end_mark.line + 1}: add the "
                                       "closing quote on this line (a quoted value runs on to the next "
                                       f"{quoted.style})")
    if problem.startswith("expected <block end>") or problem.startswith("expected ',' or "):
        if quoted is not None and isinstance(found, yaml.ScalarToken) and found.start_mark.line == quoted.end_mark.line:
            shown = text[quoted.start_mark.index:quoted.end_mark.index]
            if problem.startswith("expected ',' or ") and opened is not None and ", " not in quoted.value \
                    and ": " not in quoted.value and text[quoted.end_mark.index:mark.index].isspace():
                # {code: "1210" name: ...}: a whole quoted value, a space, the next entry: the ',' is missing
                # (a quote closed early, {code: "1210, name: "Raw ...}, leaves ', ' or ': ' inside it).
                brackets = "{…}" if problem.startswith("expected ',' or '}'") else "[…]"
                return at(mark), (f"a ',' is missing between two entries of the {brackets} begun at {at(opened)}: "
                                  f"after the quoted value {shown} another entry starts; separate entries with ', '")
            return at(mark), (f"more text after the quoted value {shown} on this line: a closing quote is missing "
                              "or one is left over; put the whole value in one pair of quotes"
                              + (" (a ' inside '...' is written '')" if quoted.style == "'" else ""))
    if problem.startswith("expected <block end>") or problem.startswith("expected the node content, but found '}'") \
            or problem.startswith("expected the node content, but found ']'"):
        if isinstance(found, _FLOW_ENDS):
            close = text[mark.index]
            return at(mark), (f"a '{close}' with none open to close: one '{close}' too many on this line; remove it")
        before = near.before if near is not None else None
        if isinstance(before, _FLOW_ENDS) and before.end_mark.line == mark.line:
            begun = near.opening.get(id(before))
            brackets = "{…}" if isinstance(before, yaml.FlowMappingEndToken) else "[…]"
            which = f"the {brackets} begun at column {begun.start_mark.column + 1}" if begun is not None else \
                f"a {brackets}"
            return at(mark), (f"more text after the '{text[before.start_mark.index]}' that closes {which}: that "
                              f"{brackets} is the whole value — put every entry inside it, separated by ', ', and "
                              "nothing after it (a comment starts with ' #')")
        if isinstance(found, _BLOCK_TOKENS) or (mark is not None and text and _line_start(text, mark)):
            begun = f" (the block begun at line {opened.line + 1})" if opened is not None else ""
            return at(mark), ("this line is indented differently from the lines above it" + begun + ": keys at one "
                              "level start in the same column, and a list's '- ' items too; indent with spaces, as "
                              "the lines around it are")
        if not text:
            return at(mark), ("this line is indented differently from the lines above it, or has more text after a "
                              "value: check its indentation and quotes")
        return at(mark), neutral
    if problem == "mapping values are not allowed here":
        if text and mark is not None:
            lines = text.splitlines()
            for row in (mark.line - 1, mark.line):
                if 0 <= row < len(lines) and _NO_SPACE_AFTER_DASH.match(lines[row]):
                    column = lines[row].index("-") + 1
                    return f"line {row + 1}, column {column}", ("a '-' with no space after it: a list item is "
                                                                "written '- ' and then the item ('- name: …')")
            said = _missing_opening(lines[mark.line]) if mark.line < len(lines) else None
            if said is not None:
                return f"line {mark.line + 1}, column {said[0]}", said[1]
            said = _item_dedented(lines, mark.line)
            if said is not None:
                return said
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
        close = "}" if problem.startswith("expected ',' or '}'") else "]"  # not "but got '}'"
        brackets = "{…}" if close == "}" else "[…]"
        what = f"the {brackets} begun at {at(opened)}" if opened is not None else f"a {brackets}"
        before = near.before if near is not None else None
        if isinstance(found, yaml.ValueToken) and isinstance(before, yaml.ScalarToken) and before.style is None \
                and " " in before.value and before.start_mark.line == before.end_mark.line == mark.line:
            # {units: 30 complete: 0.4}: '30 complete' is read as one value, and its ':' is out of place.
            return at(before.start_mark), (f"a ',' is missing between two entries of {what}: "
                                           f"'{before.value}' reads as one value; separate entries with ', '")
        if (isinstance(before, yaml.ScalarToken) and before.end_mark.line > before.start_mark.line) or \
                (opened is not None and mark.line > opened.line and text and _line_start(text, mark)):
            # The value ran on to the next line, or the next line starts where the '}' should be.
            return at(mark), f"{what} is not closed: add the '{close}' at the end of its line"
        return at(mark), f"{what}: a ',' between its entries, or its closing '{close}', is missing here"
    if problem.startswith("found undefined alias"):
        return at(mark), "'*' begins a YAML alias: put the value in quotes ('...')"
    if context.startswith("expected a single document"):
        return at(mark), "a second YAML document (a '---' line) starts here: keep one document per file"
    if problem == "expected the node content, but found '<stream end>'":
        return at(mark), ("the file ends where a value should follow: a '[' or '{' above is not closed, or the last "
                          "key has no value")
    where = at(mark or opened)
    return where, f"invalid YAML: {problem or context}"
