"""Problems found in user input, as values.

Every problem carries a stable ``code`` — every code wip gives is in the index of docs/errors.md,
linked to the page that explains it (tests/test_errors_index.py reads the codes from the source and
keeps the index complete); a case file's codes are explained there in full, with reproducers
under tests/errors/ — the ``path`` of the offending value as the user wrote it
(``stages[1].ending_wip.units`` in a case file, ``Production!D7`` in a workbook) and a one-line
message that says what was expected, what was found and what to check next.
Pipeline stages return ``(result, issues)``; only the outermost layer turns issues into an exit
status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["Issue", "CostingError", "format_path", "as_written", "shown_safely"]


# How much of a value a message shows: a list pasted in place of a number, or a YAML alias that
# stands for millions of values, is named by its start, not written out whole.
_SHOWN_CHARACTERS = 200


class _Shown(Exception):
    """Enough of the value has been written for the message."""


def as_written(value: Any) -> str:
    """A value found in the input, for a message: as the user would write it, not as Python shows
    it (the file readers turn numbers into Decimals); a long one cut after 200 characters (…).

    >>> as_written([Decimal("0.4"), "x"]), as_written({"units": Decimal("10")}), as_written("abc"), as_written(None)
    ("a list [0.4, 'x']", 'a mapping {units: 10}', "'abc'", 'nothing')
    >>> deep = [1]
    >>> for _ in range(5000): deep = [deep, deep]
    >>> len(as_written(deep)), as_written(deep)[-3:], as_written([Decimal("1E+999999999")])
    (208, '[[…', 'a list [1E+999999999]')
    """
    parts: list[str] = []
    size = 0

    def put(text: str) -> None:
        nonlocal size
        parts.append(text)
        size += len(text)
        if size > _SHOWN_CHARACTERS:
            raise _Shown

    def inner(v: Any) -> None:  # each level writes a bracket first: at most 200 levels deep
        if isinstance(v, Decimal):  # plain, unless that would run to thousands of digits (1e999999999)
            put(format(v, "f") if not v.is_finite() or -40 < v.adjusted() < 40 else str(v))
        elif isinstance(v, bool) or v is None:
            put({True: "true", False: "false", None: "null"}[v])
        elif isinstance(v, list):
            put("[")
            for k, x in enumerate(v):
                put(", " if k else "")
                inner(x)
            put("]")
        elif isinstance(v, dict):
            put("{")
            for k, (key, x) in enumerate(v.items()):
                put(f"{', ' if k else ''}{key}: ")
                inner(x)
            put("}")
        else:
            put(repr(v))

    try:
        inner(value)
        written = "".join(parts)
    except _Shown:
        written = "".join(parts)[:_SHOWN_CHARACTERS] + "…"
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return f"a list {written}"
    if isinstance(value, dict):
        return f"a mapping {written}"
    return written


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with the input, located where the user can find it."""

    code: str
    path: str
    message: str
    source: str = ""  # the file the path is in, when known

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        loc = f"{self.path}: " if self.path else ""
        return f"{where}{loc}{self.message} [{self.code}]"

    def with_source(self, source: str) -> "Issue":
        return Issue(self.code, self.path, self.message, source)

    def under(self, prefix: str) -> "Issue":
        """The same issue located inside ``prefix`` (e.g. a product of a close file)."""
        if not prefix:
            return self
        if not self.path:
            path = prefix
        elif self.path.startswith("["):
            path = prefix + self.path
        else:
            path = f"{prefix}.{self.path}"
        return Issue(self.code, path, self.message, self.source)


class CostingError(Exception):
    """Raised by the public API when the input has problems; carries all of them at once."""

    def __init__(self, issues: list[Issue] | tuple[Issue, ...]):
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def format_path(loc: tuple | list) -> str:
    """Render a location tuple the way users read it.

    >>> format_path(("stages", 1, "ending_wip", "units"))
    'stages[1].ending_wip.units'
    >>> format_path(())
    ''
    >>> format_path(("stages", 0, "elements", 1, "[key]"))  # a mapping key 1 (not an index)
    'stages[0].elements.1'
    """
    out = ""
    for i, part in enumerate(loc):
        if part == "[key]":  # pydantic's marker after a mapping key that is itself refused
            continue
        if isinstance(part, int) and "[key]" not in loc[i + 1:i + 2]:
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# What a terminal would act on rather than show: control characters (an escape sequence can clear
# the screen, a line break split one problem over two lines) and the bidirectional overrides and
# isolates (they reorder the rest of the line, [CODE] included).  A name typed with them reaches
# messages and locations as written.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown_safely(text: str) -> str:
    r"""``text`` with what a terminal would act on written as an escape a reader can see.

    >>> shown_safely("Pack\x1b[2Jaging / Tes\nting / \u202eX")
    'Pack\\x1b[2Jaging / Tes\\nting / \\u202eX'
    """
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
