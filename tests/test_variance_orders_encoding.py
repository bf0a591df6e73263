"""`wip flow --orders` with the files Excel on Windows saves: UTF-16 "Unicode Text" is read, a
Windows-1252 "CSV (Comma delimited)" is refused where its first such byte is (never guessed), and
units written with digits other than 0-9 are refused rather than read as their digit."""

from __future__ import annotations

import codecs
import json

import pytest

from costing import NumberError
from costing.cli import main
from costing.variance._cli import _units_reader

HEADER = ["id", "product", "units", "due"]


def flow(orders, ledger, *more) -> int:
    return main(["flow", "--period", "2026-11", "--orders", str(orders), "--ledger", str(ledger), *more])


def unicode_text(rows: list[list[str]], bom: bytes) -> bytes:
    """A table as Excel's "Unicode Text (*.txt)" saves it: UTF-16 with a byte-order mark, tabs, CRLF."""
    codec = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    return bom + "".join("\t".join(row) + "\r\n" for row in rows).encode(codec)


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("name", ["orders.txt", "orders.csv"])
def test_excels_unicode_text_is_read_tab_separated(demo_ledger, tmp_path, capsys, bom, name):
    orders = tmp_path / name
    orders.write_bytes(unicode_text([HEADER, ["Café-1", "Barista Pro", "20", "2026-12-02"],
                                     ["Müller-2", "Barista Pro", "5", "2026-12-09"]], bom))
    assert flow(orders, demo_ledger, "--json") == 0
    read = {o["id"]: o["units"] for o in json.loads(capsys.readouterr().out)["orders"]}
    assert read == {"Café-1": "20", "Müller-2": "5"}


def test_a_unicode_text_file_cut_short_is_refused_at_its_line(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.txt"
    whole = unicode_text([HEADER, ["A-1", "Barista Pro", "20", "2026-12-02"]], codecs.BOM_UTF16_LE)
    orders.write_bytes(whole + b"A")  # half of a character
    assert flow(orders, demo_ledger) == 2
    err = capsys.readouterr().err
    assert f"{orders}: line 3, column 1: " in err and "[UNREADABLE_FILE]" in err
    assert "cut short or damaged" in err and "codec" not in err


@pytest.mark.parametrize("bom, content, where, byte", [
    (b"", "id,product,units,due\nA-1,Barista Pro,20,2026-12-02\nB-2,Café Crème,5,2026-12-09\n",
     "line 3, column 8", "0xe9 (é in Windows-1252)"),
    # Excel's "CSV UTF-8" byte-order mark on a file saved in Windows-1252 all the same: no column of its own
    (codecs.BOM_UTF8, "id;product;units;due\nMüller GmbH;Barista Pro;20;2026-12-02\n", "line 2, column 2",
     "0xfc (ü in Windows-1252)"),
])
def test_a_windows_1252_csv_is_refused_where_its_first_such_byte_is(demo_ledger, tmp_path, capsys, bom, content,
                                                                      where, byte):
    orders = tmp_path / "orders.csv"
    orders.write_bytes(bom + content.encode("cp1252"))
    assert flow(orders, demo_ledger) == 2
    err = capsys.readouterr().err
    assert f"{orders}: {where}: byte {byte} is not UTF-8 text" in err and "[UNREADABLE_FILE]" in err
    assert "save it from Excel as 'CSV UTF-8 (Comma delimited)'" in err
    assert "codec" not in err and "[UNKNOWN_PRODUCT]" not in err  # not decoded by a guess and read on


def test_a_windows_1252_text_file_is_refused_not_taken_for_yaml(demo_ledger, tmp_path, capsys):
    """Excel's "Text (Tab delimited)" is Windows-1252 too: a table by its header, refused as one."""
    orders = tmp_path / "orders.txt"
    orders.write_bytes("id\tproduct\tunits\tdue\r\nCafé-1\tBarista Pro\t20\t2026-12-02\r\n".encode("cp1252"))
    assert flow(orders, demo_ledger) == 2
    err = capsys.readouterr().err
    assert f"{orders}: line 2, column 4: byte 0xe9" in err and "'CSV UTF-8 (Comma delimited)'" in err


def test_a_utf8_csv_with_accents_is_still_read(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_bytes(codecs.BOM_UTF8 + "id,product,units,due\nCafé-1,Barista Pro,20,2026-12-02\n".encode())
    assert flow(orders, demo_ledger, "--json") == 0
    (order,) = json.loads(capsys.readouterr().out)["orders"]
    assert (order["id"], order["units"]) == ("Café-1", "20")


@pytest.mark.parametrize("content", [
    "id,product,units,due\nA-1,Barista Pro,٢٠,2026-12-02\n",  # Arabic-Indic, comma-separated
    "id,product,units,due\nA-1,Barista Pro,２０,2026-12-02\n",  # fullwidth
    "id;product;units;due\nA-1;Barista Pro;２０;2026-12-02\n",  # semicolon-separated
    "id\tproduct\tunits\tdue\nA-1\tBarista Pro\t2٠\t2026-12-02\n",  # tab, one digit of another script
])
def test_units_in_digits_other_than_0_to_9_are_refused_and_located(demo_ledger, tmp_path, capsys, content):
    orders = tmp_path / "orders.csv"
    orders.write_text(content, encoding="utf-8")
    assert flow(orders, demo_ledger) == 2
    err = capsys.readouterr().err
    assert f"{orders}: line 2, units: " in err and "[NOT_A_NUMBER]" in err
    assert "not one of the digits 0-9" in err and "; write 20 [NOT_A_NUMBER]" in err


@pytest.mark.parametrize("delimiter, locale", [(",", "en_US"), (",", "de_DE"), (";", "de_DE"), ("\t", "en_US")])
def test_every_csv_reading_refuses_other_digits(delimiter, locale):
    read = _units_reader(delimiter, locale)
    assert read("1500") == 1500
    for written in ("١٥٠٠", "１５００", "1٥00"):
        with pytest.raises(NumberError) as refused:
            read(written)
        assert (refused.value.code, refused.value.message.endswith("; write 1500")) == ("NOT_A_NUMBER", True)
    with pytest.raises(NumberError) as refused:
        read("2²")  # a digit, but not a decimal one: nothing to write in its place
    assert refused.value.code == "NOT_A_NUMBER" and "SUPERSCRIPT TWO" in refused.value.message
