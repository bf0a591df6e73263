"""What the file boundary refuses, and how it says so: YAML merge keys (the keys are written out
instead), spreadsheets wip does not read (.xls, .xlsb, .ods — by extension, and by their first
bytes when misnamed), and names that would not print on one line or would hide a character
(a line break in the company name, a zero-width space in a stage or product name)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

from costing._casefile import read_data_file
from costing._journal import name_problem
from costing.cli import main
from costing.close import resolve_close
from tests.demo_data import demo

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = ROOT / "examples" / "demo" / "close-2026-10.yaml"


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


CASE = ("currency: USD\nmethod: fifo\n"
        "stages:\n"
        "  - name: Assembly\n"
        "    elements: {materials: {kind: material, added: start}}\n"
        "    started: 10\n    completed: 10\n"
        "    added_costs: {materials: 100}\n")


# ---- YAML merge keys -----------------------------------------------------------------------------

@pytest.mark.parametrize("written, line, column", [
    ("assembly: &asm {materials: {kind: material, added: start}}\nelements: {<<: *asm}\n", 2, 12),
    ("assembly: &asm {materials: {kind: material, added: start}}\nelements:\n  <<: *asm\n", 3, 3),
    ("elements: {<<: [{a: 1}, {b: 2}]}\n", 1, 12),
])
def test_a_yaml_merge_key_is_refused_where_it_is_written_saying_to_write_the_keys_out(tmp_path, written, line,
                                                                                       column):
    path = tmp_path / "merge.yaml"
    path.write_text(written)
    data, issues = read_data_file(path)
    assert data is None
    assert [(i.code, i.path) for i in issues] == [("INVALID_SYNTAX", f"line {line}, column {column}")]
    assert "YAML merge keys (<<) are not supported; write the keys out" in issues[0].message
    assert "constructor" not in issues[0].message  # not the parser's own words


def test_anchors_and_aliases_still_read_and_duplicate_keys_are_still_refused(tmp_path):
    aliased = tmp_path / "aliased.yaml"
    aliased.write_text("assembly: &asm {materials: {kind: material, added: start}}\nelements: *asm\n")
    data, issues = read_data_file(aliased)
    assert issues == []
    assert data["elements"] == data["assembly"] == {"materials": {"kind": "material", "added": "start"}}
    twice = tmp_path / "twice.yaml"
    twice.write_text("elements: {materials: 1, materials: 2}\n")
    _, issues = read_data_file(twice)
    assert [i.code for i in issues] == ["INVALID_SYNTAX"] and "duplicate key 'materials'" in issues[0].message
    quoted = tmp_path / "quoted.yaml"  # a quoted "<<" is an ordinary key, left to the spec (UNKNOWN_KEY)
    quoted.write_text('elements: {"<<": 1}\n')
    data, issues = read_data_file(quoted)
    assert issues == [] and data == {"elements": {"<<": 1}}


def test_wip_cost_says_the_merge_key_is_not_supported(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text(CASE.replace("    elements: {materials: {kind: material, added: start}}\n",
                                 "    elements: {<<: *m}\n").replace("method: fifo\n",
                                                                   "method: fifo\nshared: &m {materials: 1}\n"))
    status, out, err = run(capsys, "cost", path)
    assert status == 2 and out == ""
    assert "line 6, column 16: invalid YAML: YAML merge keys (<<) are not supported; write the keys out " \
           "[INVALID_SYNTAX]" in err


# ---- spreadsheets wip does not read --------------------------------------------------------------

# The first bytes of every Office 97-2003 file (OLE2 compound document), as Excel writes an .xls.
OLE2 = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)


def zipped(entries: dict[str, bytes]) -> bytes:
    """A zip as office suites write them (an ODF file stores its mimetype first, uncompressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


ODS = zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
XLSB = zipped({"[Content_Types].xml": b"<x/>", "xl/workbook.bin": b"\0"})
XLSX = zipped({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>"})

SPREADSHEETS = {
    "xls": ("close.xls", OLE2, "an Excel 97-2003 workbook (.xls)"),
    "ods": ("close.ods", ODS, "an OpenDocument spreadsheet (.ods)"),
    "xlsb": ("close.xlsb", XLSB, "an Excel binary workbook (.xlsb)"),
    "xls named .yaml": ("close.yaml", OLE2, "an Excel 97-2003 workbook (.xls)"),
    "ods named .yaml": ("close.yaml", ODS, "an OpenDocument spreadsheet (.ods)"),
    "xlsb named .json": ("close.json", XLSB, "an Excel binary workbook (.xlsb)"),
}


@pytest.mark.parametrize("name, content, said", SPREADSHEETS.values(), ids=list(SPREADSHEETS))
def test_a_spreadsheet_wip_does_not_read_says_to_save_it_as_xlsx(tmp_path, capsys, name, content, said):
    path = tmp_path / name
    path.write_bytes(content)
    status, out, err = run(capsys, "close", path, "--period", "2026-10", "--ledger", tmp_path / "ledger.db")
    assert status == 2 and out == ""
    assert said in err
    assert "save it as .xlsx (Excel Workbook" in err and "[UNREADABLE_FILE]" in err
    assert "codec" not in err and "Traceback" not in err
    assert not (tmp_path / "ledger.db").exists()


def test_an_xlsx_workbook_misnamed_says_to_name_it_xlsx(tmp_path):
    path = tmp_path / "close.yaml"
    path.write_bytes(XLSX)
    data, issues = read_data_file(path)
    assert data is None
    assert [i.code for i in issues] == ["UNREADABLE_FILE"]
    assert "name it .xlsx (or .xlsm)" in issues[0].message


def test_the_close_template_given_to_wip_cost_says_the_command_reads_yaml_or_json_and_workbooks_go_to_wip_close(
        capsys):
    """Already named .xlsx: renaming it is no step; another command is."""
    status, out, err = run(capsys, "cost", ROOT / "templates" / "close-template.xlsx")
    assert status == 2 and out == ""
    assert "an Excel workbook, which this command does not read: it reads a YAML or JSON file; a close workbook " \
           "goes to `wip close`" in err and "[UNREADABLE_FILE]" in err
    assert "name it" not in err


@pytest.mark.parametrize("name", ["book.xlsm", "BOOK.XLSX"])
def test_a_workbook_named_as_one_given_where_yaml_or_json_belongs_is_not_told_to_rename_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(XLSX)
    _, issues = read_data_file(path)
    assert [i.code for i in issues] == ["UNREADABLE_FILE"]
    assert "a close workbook goes to `wip close`" in issues[0].message and "name it" not in issues[0].message


def test_text_that_is_not_utf8_is_still_said_to_be_unreadable_as_text(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("company: Café\n".encode("latin-1"))
    _, issues = read_data_file(path)
    assert [i.code for i in issues] == ["UNREADABLE_FILE"]
    assert issues[0].path == "line 1, column 13"  # the é
    assert "byte 0xe9 is not UTF-8 text" in issues[0].message and "save it as UTF-8" in issues[0].message


# ---- names: line breaks and characters that only hide -------------------------------------------

@pytest.mark.parametrize("name, character", [
    ("Assem\u200bbly", "U+200B ZERO WIDTH SPACE"), ("Assem\u2060bly", "U+2060 WORD JOINER"),
    ("\ufeffAssembly", "U+FEFF ZERO WIDTH NO-BREAK SPACE"), ("Assem\u00adbly", "U+00AD SOFT HYPHEN"),
    ("Assembly\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"), ("Assem\u2066bly", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("Assem\u202ably", "U+202A LEFT-TO-RIGHT EMBEDDING"),
    ("Assem\u2061bly", "U+2061 FUNCTION APPLICATION"), ("Assembly\u2064", "U+2064 INVISIBLE PLUS"),
    ("Assem\u206dbly", "U+206D ACTIVATE ARABIC FORM SHAPING"),
    ("\ufff9Assembly\ufffaline 2\ufffb", "U+FFF9 INTERLINEAR ANNOTATION ANCHOR"),
], ids=["zero width space", "word joiner", "byte-order mark", "soft hyphen", "right-to-left override",
        "left-to-right isolate", "left-to-right embedding", "function application", "invisible plus",
        "deprecated format control", "interlinear annotation"])
def test_a_name_with_a_character_that_only_hides_or_reorders_is_refused_naming_it(name, character):
    problem = name_problem(name)
    assert problem is not None and problem.startswith(f"has an invisible character ({character})")


@pytest.mark.parametrize("name", [
    "\u0645\u06cc\u200c\u0631\u0648\u062f",  # Persian "mi-ravad": the zero-width non-joiner is its spelling
    "\u0915\u094d\u200d\u0937",  # Devanagari conjunct written with a zero-width joiner
    "Team \U0001f468\u200d\U0001f469\u200d\U0001f467",  # an emoji sequence joined by zero-width joiners
    "\u05d4\u05e8\u05db\u05d1\u05d4 A-7\u200f",  # Hebrew with a Latin model number, closed by a right-to-left mark
    "Line \u200eB\u200e \u0627\u0644\u062e\u0637",  # Arabic beside Latin, with left-to-right marks
    "\u182d\u1823\u1828\u1822\u180e\u1820",  # Mongolian, its vowel separator shaping the final letter
    "Shortbread \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # a flag spelt by tags
    "Montage", "Café crème", "組立", "Сборка", "تجميع", "Assembly 2",
], ids=["persian ZWNJ", "devanagari ZWJ", "emoji ZWJ", "hebrew RLM", "arabic LRM", "mongolian MVS", "flag tags",
        "french", "accents", "japanese", "russian", "arabic", "ascii"])
def test_names_spelt_with_joiners_or_direction_marks_and_other_scripts_are_names(name):
    assert name_problem(name) is None


def test_a_stage_named_with_a_zero_width_space_is_invalid_name_in_a_case_file(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text(CASE.replace("name: Assembly", 'name: "Assem\\u200bbly"'))
    status, _, err = run(capsys, "cost", path)
    assert status == 2
    assert "stages[0].name" in err and "U+200B ZERO WIDTH SPACE" in err and "[INVALID_NAME]" in err


def test_a_product_named_with_a_zero_width_space_is_invalid_name_in_a_close_file():
    data = demo("2026-10")
    data["products"][0]["name"] = data["products"][0]["name"][:3] + "\u200b" + data["products"][0]["name"][3:]
    _, issues = resolve_close(data, None)
    assert ("INVALID_NAME", "products[0].name") in {(i.code, i.path) for i in issues}


@pytest.mark.parametrize("company, said", [
    ("Brew\nWorks", "has a line break or control character"),
    ("Brew\u200bWorks", "has an invisible character (U+200B ZERO WIDTH SPACE), which only hides"),
    ("Brew Works ", "has leading or trailing spaces"),
])
def test_a_company_name_that_would_not_print_on_one_line_is_refused_and_nothing_is_written(
        tmp_path, capsys, company, said):
    data = yaml.safe_load(OCTOBER.read_text())
    data["company"] = company
    path = tmp_path / "close.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    ledger = tmp_path / "ledger.db"
    status, out, err = run(capsys, "close", path, "--period", "2026-10", "--ledger", ledger)
    assert status == 2 and out == ""
    assert f"company: the company name {said}" in err and "[INVALID_NAME]" in err
    assert not ledger.exists()


def test_a_refused_company_name_hides_none_of_the_products_problems():
    data = demo("2026-10")
    data["company"] = "Brew\nWorks"
    data["products"][0]["stages"][0]["started"] = -1
    _, issues = resolve_close(data, None)
    codes = {(i.code, i.path) for i in issues}
    assert ("INVALID_NAME", "company") in codes
    assert ("NEGATIVE_UNITS", "products[0].stages[0].started") in codes


def test_a_company_with_a_line_break_in_the_workbook_is_located_to_its_cell(tmp_path, capsys):
    from costing.workbook._cli import init_workbook

    book = init_workbook(tmp_path / "demo.xlsx", demo("2026-10"))
    wb = openpyxl.load_workbook(book)
    company_cells = [row[1] for row in wb["Settings"].iter_rows() if row[0].value == "Company"]
    assert len(company_cells) == 1
    company_cells[0].value = "Brew\nWorks"
    wb.save(book)
    before = book.read_bytes()
    status, out, err = run(capsys, "close", book, "--period", "2026-10")
    assert status == 2 and out == ""
    assert f"Settings!{company_cells[0].coordinate}" in err and "[INVALID_NAME]" in err
    assert book.read_bytes() == before
    assert not book.with_suffix(".wip.db").exists()


def test_the_spreadsheet_check_for_the_workbook_reader_says_nothing_of_a_zip_it_should_read():
    """For the close-workbook reader, when openpyxl cannot open a file named .xlsx: what it is."""
    from costing._casefile import spreadsheet_problem

    named = Path("close.xlsx")
    assert "Excel 97-2003 workbook" in spreadsheet_problem(named, OLE2, read_as_workbook=True)
    assert "OpenDocument spreadsheet" in spreadsheet_problem(named, ODS, read_as_workbook=True)
    assert spreadsheet_problem(named, XLSX, read_as_workbook=True) is None
    assert spreadsheet_problem(named, b"PK\x03\x04 damaged", read_as_workbook=True) is None


@pytest.mark.parametrize("magic", [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504])
def test_wip_close_says_what_a_workbook_named_xlsx_really_is(tmp_path, capsys, magic):
    """An .xls (or a password-protected book, the same container) saved under an .xlsx name."""
    from costing.cli import main

    book = tmp_path / "close.xlsx"
    book.write_bytes(magic)
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert "save it as .xlsx" in err and "[UNREADABLE_FILE]" in err and "not a zip file" not in err
    assert not (tmp_path / "close.wip.db").exists()


@pytest.mark.parametrize("suffix, text", [(".json", '{"b": 1e-999999999}'), (".yaml", "b: 1.0e-999999999\n")])
def test_a_tiny_exponent_is_kept_as_written_not_expanded(tmp_path, suffix, text):
    """1e-999999999 was written out in plain notation on reading (a billion zeros: seconds and a
    gigabyte, or a MemoryError traceback for a ten-digit exponent)."""
    from decimal import Decimal

    from costing._casefile import read_data_file

    path = tmp_path / f"case{suffix}"
    path.write_text(text)
    data, issues = read_data_file(path)
    assert issues == [] and data["b"] == Decimal("1E-999999999") and len(str(data["b"])) < 20
