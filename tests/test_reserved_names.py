"""Names the case file's own keys take: no element may be called so."""

from __future__ import annotations

from pathlib import Path

from costing.cli import main

DEMO_CASE = Path(__file__).resolve().parent.parent / "examples" / "demo" / "case.yaml"


def test_an_element_named_progress_is_reserved(tmp_path, capsys):
    """`complete: {progress: 0.9}` is the stage's completion: an element of that name would have its
    own completion read as the stage's without a word."""
    text = DEMO_CASE.read_text()
    old = "      materials:  {kind: material,   added: start}"
    assert old in text
    path = tmp_path / "case.yaml"
    path.write_text(text.replace(old, "      progress:  {kind: material,   added: start}", 1))
    assert main(["cost", str(path)]) == 2
    err = capsys.readouterr().err
    assert "elements.progress: 'progress' is the key of a stage's own completion" in err and "[RESERVED_NAME]" in err
