"""docs/errors.md's index lists every code wip can give, each linked to a section that explains it.

The codes are read from the source, not kept in a list here: an UPPER_SNAKE string literal passed
as the first argument (or as ``code=``) of a call — ``Issue("UNIT_FLOW", ...)``,
``LedgerError("LEDGER_BUSY", ...)``, ``NumberError(...)``, ``CellNumberError(...)``, a workbook
reader's ``self.problem(...)``, the add-in's ``error_text(...)``, pydantic's
``PydanticCustomError(...)`` — or written into a message as ``[CODE]`` or ``#WIP! CODE`` (the usage
errors argparse prints, the warnings).  A new constructor is found without this file changing; a
call whose first argument is such a literal but no code (an environment variable's name) is named
in ``NOT_CODES``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("costing", "excel_addin")
ERRORS_MD = ROOT / "docs" / "errors.md"
INDEX_HEADING = "## Index: every code"

CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# In a message: "... [UNKNOWN_LOCALE]", "#WIP! NEEDS_RE_CLOSE: ...".
CODE_IN_TEXT = re.compile(rf"\[({CODE.pattern})\]|#WIP! ({CODE.pattern})")
# Calls whose first argument is an UPPER_SNAKE literal that names something else: an environment
# variable (os.environ.get("WIP_USER")), an attribute, an SQL keyword, a Unicode form.
NOT_CODES = frozenset({"get", "getenv", "pop", "setdefault", "getattr", "hasattr", "setattr", "execute",
                       "normalize"})


def codes_in_source(text: str, where: str = "") -> dict[str, str]:
    """Code -> where it is first given, in one module's source."""
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            given = node.args[:1] + [k.value for k in node.keywords if k.arg == "code"]
            for arg in given:
                if (name not in NOT_CODES and isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                        and CODE.fullmatch(arg.value)):
                    found.setdefault(arg.value, f"{where}:{node.lineno}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in CODE_IN_TEXT.finditer(node.value):
                found.setdefault(match.group(1) or match.group(2), f"{where}:{node.lineno}")
    return found


def emitted_codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for code, where in codes_in_source(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))).items():
                found.setdefault(code, where)
    return found


def index_rows() -> dict[str, list[tuple[str, str]]]:
    """Code -> its links (target page, anchor) in the index table of docs/errors.md."""
    text = ERRORS_MD.read_text(encoding="utf-8")
    assert INDEX_HEADING in text, f"docs/errors.md has no {INDEX_HEADING!r} section"
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in text.split(INDEX_HEADING, 1)[1].splitlines():
        row = re.fullmatch(r"\| `([A-Z0-9_]+)` \| (.+) \|", line)
        if row:
            assert row.group(1) not in rows, f"{row.group(1)} is in the index twice"
            rows[row.group(1)] = [(page or "errors.md", anchor)
                                  for page, anchor in re.findall(r"\]\(([^)#]*)#([^)]+)\)", row.group(2))]
    return rows


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation but '-' and '_' dropped, spaces as '-'.

    >>> github_anchor("Process accounts (`loss_convention: process_account`)")
    'process-accounts-loss_convention-process_account'
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sections(page: Path) -> dict[str, str]:
    """Anchor -> the text under that heading, up to the next heading (fenced code is no heading)."""
    found: dict[str, str] = {}
    seen: dict[str, int] = {}
    anchor, fenced = None, False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"#{1,6} (.+)", line)
        if heading:
            base = github_anchor(heading.group(1))
            anchor = base if base not in seen else f"{base}-{seen[base]}"  # GitHub numbers a repeated heading
            seen[base] = seen.get(base, 0) + 1
            found[anchor] = line + "\n"
        elif anchor is not None:
            found[anchor] += line + "\n"
    return found


def test_the_scan_finds_a_code_however_it_is_given():
    source = '\n'.join([
        'issues.append(Issue("UNIT_FLOW", path, "m"))',
        'raise LedgerError("LEDGER_BUSY", "m")',
        'self.problem("UNKNOWN_SETTING", cell.ref, "m")',
        'raise SomeNewError(code="BRAND_NEW", message="m")',
        'raise ArgumentTypeError(f"unknown locale {text!r}; expected e.g. en_US [UNKNOWN_LOCALE]")',
        'return error_text("RANGE_HAS_ERRORS", "m")',
        'cell = "#WIP! NEEDS_RE_CLOSE: " + why',
        'user = os.environ.get("WIP_USER")',
        'db.execute("BEGIN IMMEDIATE")',
        'TABLE_NAMES = ("Settings", "Accounts")',
    ])
    assert set(codes_in_source(source)) == {"UNIT_FLOW", "LEDGER_BUSY", "UNKNOWN_SETTING", "BRAND_NEW",
                                            "UNKNOWN_LOCALE", "RANGE_HAS_ERRORS", "NEEDS_RE_CLOSE"}


def test_the_scan_of_the_source_finds_the_codes_of_every_kind_of_constructor():
    emitted = emitted_codes()
    for code in ("UNIT_FLOW", "LEDGER_BUSY", "NOT_A_NUMBER", "INVALID_PERIOD", "UNKNOWN_SETTING", "RANGE_HAS_ERRORS",
                 "UNKNOWN_LOCALE", "WORKBOOK_NOT_SAVED", "NOTHING_POSTED", "LEDGER_TAMPERED"):
        assert code in emitted, code
    assert len(emitted) > 100  # a scan that silently stopped finding would pass the next test


def test_every_code_the_source_gives_is_in_the_index():
    indexed = index_rows()
    missing = {code: where for code, where in emitted_codes().items() if code not in indexed}
    assert not missing, ("codes given in the source but not in docs/errors.md's index (add a row linking to "
                         f"the section that explains each): {missing}")


def test_the_index_lists_no_code_the_source_no_longer_gives():
    stale = sorted(set(index_rows()) - set(emitted_codes()))
    assert not stale, f"docs/errors.md's index lists codes nothing gives: {stale}"


def test_each_index_link_reaches_a_section_that_names_its_code():
    pages: dict[str, dict[str, str]] = {}
    wrong = []
    for code, links in index_rows().items():
        assert links, f"{code} has no link in the index"
        for page, anchor in links:
            path = (ERRORS_MD.parent / page).resolve()
            if page not in pages:
                assert path.is_file(), f"{code}: no such page {page}"
                pages[page] = sections(path)
            text = pages[page].get(anchor)
            if text is None:
                wrong.append(f"{code}: {page} has no heading #{anchor}")
            elif not re.search(rf"(?<![A-Z0-9_]){code}(?![A-Z0-9_])", text):
                wrong.append(f"{code}: {page}#{anchor} does not name it")
    assert not wrong, "\n".join(wrong)
