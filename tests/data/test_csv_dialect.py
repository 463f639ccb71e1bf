"""CSV files as spreadsheets write them: the delimiter, decimal mark and encoding sniffed or
given, and an error that says why a file cannot be read (the delimiter it looks like, the
encoding it has), never a misleading "ragged rows".

Each file is written byte for byte as the program named writes it.
"""

import gzip
import re

import numpy as np
import pytest

from backprop.data import DataError, csv_dialect, read_table
from backprop.data import load_dataset as _load_dataset
from backprop.data.csv_dialect import parse_sep, sniff


def load_dataset(*args, **kwargs):
    """In float64, so that a parsed decimal is compared with the double it denotes."""
    return _load_dataset(*args, **{"dtype": np.float64, **kwargs})

# German Excel, "CSV UTF-8 (durch Trennzeichen getrennt)": a UTF-8 byte-order mark, semicolons,
# decimal commas and CRLF line ends
GERMAN_ROWS = ["Länge;Breite;Gewicht;Sorte", "3,14;2,5;-0,125;groß", "1,5;1e3;7;klein",
               "0,1;2;1234,5;groß", "2,75;0,5;,5;klein"]
GERMAN_X = [[3.14, 2.5, -0.125], [1.5, 1000.0, 7.0], [0.1, 2.0, 1234.5], [2.75, 0.5, 0.5]]


def write_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def german(tmp_path, name="de.csv", encoding="utf-8-sig", sep=";"):
    text = "\r\n".join(r.replace(";", sep) for r in GERMAN_ROWS) + "\r\n"
    return write_bytes(tmp_path, name, text.encode(encoding))


def error(path, **kwargs):
    """The message of the DataError that loading ``path`` raises, without the file name."""
    with pytest.raises(DataError) as e:
        load_dataset(path, **kwargs)
    text = str(e.value)
    assert text.startswith(path + ": ") and "\n" not in text
    return text[len(path) + 2:]


# --------------------------------------------------------------------------- sniffed
def test_german_excel_semicolons_and_decimal_commas_read_exactly(tmp_path):
    ds = load_dataset(german(tmp_path), target="Sorte")
    assert ds.feature_names == ["Länge", "Breite", "Gewicht"]  # no '\ufeff' before Länge
    assert ds.X.tolist() == GERMAN_X  # exact: 3,14 is the double 3.14
    assert ds.classes == ["groß", "klein"] and ds.y.tolist() == [0, 1, 0, 1]
    assert sniff(german(tmp_path))[:3] == (";", ",", "utf-8")


def test_excel_unicode_text_is_utf16_le_with_tabs(tmp_path):
    # Excel's "Unicode text": UTF-16 LE with a byte-order mark, tab-delimited (here with the
    # decimal commas of a German locale), even when the file is named .csv
    path = german(tmp_path, "unicode.csv", encoding="utf-16", sep="\t")
    assert open(path, "rb").read(2) == b"\xff\xfe"
    ds = load_dataset(path, target="Sorte")
    assert ds.feature_names == ["Länge", "Breite", "Gewicht"]
    assert ds.X.tolist() == GERMAN_X and ds.classes == ["groß", "klein"]
    big_endian = write_bytes(tmp_path, "be.tsv", "a\tb\ty\n1.5\t2\tx\n3\t4\tz\n".encode("utf-16"
                                                                                        "-be"))
    with open(big_endian, "r+b") as f:  # prepend the big-endian byte-order mark
        data = f.read()
        f.seek(0)
        f.write(b"\xfe\xff" + data)
    ds = load_dataset(big_endian, target="y")
    assert ds.X.tolist() == [[1.5, 2.0], [3.0, 4.0]] and ds.feature_names == ["a", "b"]


def test_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path):
    path = write_bytes(tmp_path, "bom.csv", "\ufeffx1,x2,label\n1,2,a\n3,4,b\n".encode())
    df = read_table(path)
    assert list(df.columns) == ["x1", "x2", "label"]
    ds = load_dataset(path, target="label", features=["x1"])
    assert ds.X.tolist() == [[1.0], [3.0]]


def test_pipe_delimited(tmp_path):
    path = write_bytes(tmp_path, "p.csv", b"a|b|y\n1.25|-2|x\n3|4e-1|z\n")
    ds = load_dataset(path, target="y")
    assert ds.X.tolist() == [[1.25, -2.0], [3.0, 0.4]] and ds.feature_names == ["a", "b"]


def test_semicolons_with_decimal_points_stay_decimal_points(tmp_path):
    path = write_bytes(tmp_path, "s.csv", b"a;b;y\n1.5;2,5;x\n3.25;4.5;z\n")
    assert sniff(path).decimal == "."  # 3 numbers with a point against 1 with a comma
    assert ("'b' holds numbers written with a decimal comma (row 1: '2,5'); read the file with "
            "--decimal ','") in error(path, target="y")
    assert load_dataset(path, target="y", features=["a"]).X.tolist() == [[1.5], [3.25]]


def test_thousands_points_with_decimal_commas(tmp_path):
    # 1.234,5 and 1.234.567 can only have thousands points: pyarrow reads the decimal comma,
    # the thousands points are dropped after it
    path = write_bytes(tmp_path, "t.csv", b"a;b;c;y\n1.234,5;2,5;1.000;p\n-12.345.678;3;,5;q\n"
                                          b"7;8;9;p\n")
    ds = load_dataset(path, target="y")
    assert ds.X.tolist() == [[1234.5, 2.5, 1000.0], [-12345678.0, 3.0, 0.5], [7.0, 8.0, 9.0]]
    # 421.878 alone may be either
    path = write_bytes(tmp_path, "pop.csv", b"Stadt;Einwohner\nZ\xc3\xbcrich;421.878\nBern;"
                                            b"134.591\n")
    assert error(path, target="Stadt") == (
        "cannot tell its decimal mark: 421.878 is 421878 with --decimal , (a thousands point, "
        "as European spreadsheets write it) or 421.878 with --decimal .")
    assert load_dataset(path, target="Stadt", decimal=",").X[:, 0].tolist() == [421878, 134591]
    assert load_dataset(path, target="Stadt", decimal=".").X[:, 0].tolist() == [421.878,
                                                                                 134.591]


def test_compressed_semicolon_file_is_sniffed_after_decompressing(tmp_path):
    path = str(tmp_path / "de.csv.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress("\r\n".join(GERMAN_ROWS).encode("utf-8-sig")))
    assert load_dataset(path, target="Sorte").X.tolist() == GERMAN_X


def test_ordinary_comma_files_keep_their_reading(tmp_path):
    # a comma file whose text cells hold semicolons: comma is consistent, so it wins
    path = write_bytes(tmp_path, "c.csv", b'a,note,y\n1.5,"x;y",p\n2,u;v,q\n')
    assert sniff(path)[:2] == (",", ".")
    ds = load_dataset(path, target="y", features=["a"])
    assert ds.X.tolist() == [[1.5], [2.0]]
    # a .tsv file is tab-delimited unless its lines say otherwise
    tsv = write_bytes(tmp_path, "t.tsv", b"a\tb,c\ty\n1\t2,5\tp\n")
    assert sniff(tsv, "\t")[:2] == ("\t", ",")


def test_sniffing_a_sample_cut_inside_a_quoted_field(tmp_path):
    # the sample is the first 256 KiB (at most 200 lines): with long lines its end may cut a
    # quoted field that holds a line break, and that record must not count
    rows = '1,5;"zwei\nZeilen' + "p" * 3000 + '";q\n-2;"' + "x" * 3000 + '";r\n'
    text = "a;b;y\n" + rows * 60
    path = write_bytes(tmp_path, "long.csv", text.encode())
    sample = text[: 1 << 18]
    assert sample[: sample.rfind("\n")].count('"') % 2 == 1  # the cut is inside quotes
    rows = csv_dialect._sample_rows(sample, whole=False)
    assert len(rows) < 200 and rows[-1].startswith('-2;"x')
    assert sniff(path)[:2] == (";", ",")
    ds = load_dataset(path, target="y", features=["a"])
    assert ds.X.shape == (120, 1) and ds.X[::2].tolist() == [[1.5]] * 60


# --------------------------------------------------------------------------- ambiguous
def test_ambiguous_delimiter(tmp_path):
    # comma and semicolon both split every line evenly: the format's own (comma) wins
    path = write_bytes(tmp_path, "a.csv", b"a,b;y\n1,2;p\n3,4;q\n")
    assert read_table(path).columns.tolist() == ["a", "b;y"]
    # told otherwise, the semicolons delimit and the commas are decimal commas
    ds = load_dataset(path, target="y", sep=";")
    assert ds.feature_names == ["a,b"] and ds.X.tolist() == [[1.2], [3.4]]
    # two delimiters other than the format's own: no guess
    path = write_bytes(tmp_path, "b.csv", b"a;b|y\n1;2|p\n3;4|q\n")
    assert error(path, target="y") == (
        "cannot tell its delimiter: every one of its first 3 lines splits evenly on semicolon "
        "(2 fields) and pipe (2 fields); pass --sep ';' or --sep '|'")
    assert read_table(path, sep="|").columns.tolist() == ["a;b", "y"]


# --------------------------------------------------------------------------- overrides
@pytest.mark.parametrize("name, sep", [(";", ";"), ("semicolon", ";"), ("tab", "\t"),
                                       ("\\t", "\t"), ("\t", "\t"), ("PIPE", "|"),
                                       ("comma", ","), ("space", " ")])
def test_sep_names(name, sep):
    assert parse_sep(name) == sep


def test_each_override(tmp_path):
    path = german(tmp_path, "de.csv", encoding="cp1252")
    ds = load_dataset(path, target="Sorte", sep="semicolon", decimal=",", encoding="cp1252")
    assert ds.X.tolist() == GERMAN_X and ds.feature_names[0] == "Länge"
    # a space-delimited file, which sniffing does not try
    path = write_bytes(tmp_path, "s.csv", b"a b y\n1.5 2 p\n3 4 q\n")
    assert load_dataset(path, target="y", sep=" ").X.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    # decimal "." given for a decimal-comma file: the comma numbers are text, named by cell
    path = german(tmp_path, "de8.csv")
    assert ("'Länge' holds numbers written with a decimal comma (row 1: '3,14')"
            in error(path, target="Sorte", decimal="."))
    # UTF-16 without a byte-order mark, named
    path = german(tmp_path, "le.csv", encoding="utf-16-le", sep="\t")
    ds = load_dataset(path, target="Sorte", encoding="utf-16-le")
    assert ds.X.tolist() == GERMAN_X and ds.feature_names[0] == "Länge"
    # an encoding that agrees with the byte-order mark
    path = german(tmp_path, "u16.csv", encoding="utf-16")
    assert load_dataset(path, target="Sorte", encoding="UTF-16LE").X.tolist() == GERMAN_X


def test_cp1252_text_is_named_and_read_when_told(tmp_path):
    text = "Stadt,Einwohner,Land\nZürich,421878,CH\nGenève,203856,CH\nMünchen,1512491,DE\n"
    path = write_bytes(tmp_path, "cities.csv", text.encode("cp1252"))
    assert error(path, target="Stadt") == (
        "byte 0xfc at line 2 is not UTF-8; it looks like cp1252: pass --encoding cp1252")
    ds = load_dataset(path, target="Stadt", features=["Einwohner"], encoding="cp1252")
    assert ds.classes == ["Genève", "München", "Zürich"] and ds.y.tolist() == [2, 0, 1]
    assert ds.X[:, 0].tolist() == [421878, 203856, 1512491]
    # latin-1 reads it too (it decodes any bytes); cp1252's euro sign is 0x80
    euro = write_bytes(tmp_path, "euro.csv", "Preis;Währung\n3,5;€\n".encode("cp1252"))
    assert error(euro, target="Währung").endswith("it looks like cp1252: pass --encoding "
                                                  "cp1252")
    # bytes cp1252 leaves undefined (0x81) point to latin-1
    odd = write_bytes(tmp_path, "odd.csv", b"a,y\n1,\x81x\n2,z\n")
    assert error(odd, target="y") == ("byte 0x81 at line 2 is not UTF-8; it looks like "
                                      "latin-1: pass --encoding latin-1")


# --------------------------------------------------------------------------- errors
def test_bytes_that_are_not_utf8_far_into_the_file(tmp_path):
    # past the sniffed sample, in the header, and in a ragged row: the byte and its line
    path = write_bytes(tmp_path, "late.csv", b"a,y\n" + b"1,p\n" * 70000 + b"2,\xe9t\xe9\n")
    assert error(path, target="y") == ("byte 0xe9 at line 70002 is not UTF-8; it looks like "
                                       "cp1252: pass --encoding cp1252")
    path = write_bytes(tmp_path, "head.csv", "prénom,y\n1,p\n".encode("cp1252"))
    assert error(path, target="y").startswith("byte 0xe9 at line 1 is not UTF-8")
    path = write_bytes(tmp_path, "rag.csv", b"a,y\n1,p\n2,\xe9,3\n")
    assert error(path, target="y").startswith("byte 0xe9 at line 3 is not UTF-8")


def test_given_encoding_that_does_not_decode(tmp_path):
    path = write_bytes(tmp_path, "a.csv", "a,y\n1,p\n2,é\n".encode())
    assert error(path, target="y", encoding="ascii") == (
        "byte 0xc3 at line 3 is not ascii; it looks like utf-8: pass --encoding utf-8")
    path = write_bytes(tmp_path, "b.csv", "a,y\n1,é\n".encode("cp1252"))
    assert error(path, target="y", encoding="utf-8") == (
        "byte 0xe9 at line 2 is not UTF-8; it looks like cp1252: pass --encoding cp1252")


def test_utf16_errors_name_the_encoding(tmp_path):
    path = german(tmp_path, "u16.csv", encoding="utf-16", sep="\t")
    assert error(path, target="Sorte", encoding="cp1252") == (
        "the file is UTF-16 LE text (it starts with a UTF-16 LE byte-order mark), not cp1252: "
        "pass --encoding utf-16, or leave --encoding out")
    path = german(tmp_path, "le.csv", encoding="utf-16-le", sep="\t")
    assert error(path, target="Sorte") == (
        "the file looks like UTF-16 LE text without a byte-order mark (every other byte is 0): "
        "pass --encoding utf-16-le")
    path = write_bytes(tmp_path, "odd.csv", "a\tb\n1\t2\n".encode("utf-16") + b"\x00")
    assert error(path, target="b") == ("byte 0x00 at line 3 is not utf-16 (the file ends inside "
                                       "a character)")
    path = german(tmp_path, "u8.csv")
    assert error(path, target="Sorte", encoding="utf-16").startswith(
        "the file is UTF-8 text (it starts with a UTF-8 byte-order mark), not utf-16")


def test_wrong_sep_given_is_named_with_the_right_one(tmp_path):
    path = german(tmp_path)
    assert error(path, target="Sorte", sep=",") == (
        "ragged rows: line 2 has 4 fields but the header has 1 (and 3 more ragged rows); the "
        "file looks semicolon-delimited: pass --sep ';'")
    assert error(path, target="Sorte", sep="tab").startswith("with --sep tab each line is a "
                                                             "single field; the file looks "
                                                             "semicolon-delimited")
    # a comma file read with semicolons, where a cell holds one: ragged, and the hint
    path = write_bytes(tmp_path, "c.csv", b"a,b,y\n1,2,p\n3,4,q;r\n")
    assert error(path, target="y", sep=";") == (
        "ragged rows: line 3 has 2 fields but the header has 1; the file looks comma-delimited:"
        " pass --sep ,")


def test_ragged_semicolon_file_is_reported_against_its_own_header(tmp_path):
    path = write_bytes(tmp_path, "r.csv", b"a;b;y\n1,5;2;p\n3;4\n5;6;q\n")
    assert error(path, target="y") == (
        "ragged rows: line 3 has 2 fields but the header has 3 (sniffed as semicolon-delimited;"
        " pass --sep if it is not)")
    # the comma file's message is as it always was
    path = write_bytes(tmp_path, "c.csv", b"a,b,y\n1,2,p\n3,4\n")
    assert error(path, target="y") == "ragged rows: line 3 has 2 fields but the header has 3"


@pytest.mark.parametrize("kwargs, message", [
    ({"encoding": "klingon"}, "unknown text encoding 'klingon'; use a Python codec name such "
                              "as utf-8, utf-16, cp1252 or latin-1"),
    ({"encoding": "rot13"}, "unknown text encoding 'rot13'"),  # a codec, but not for text
    ({"sep": ";;"}, "a delimiter must be one character (not a quote or a line break) or one "
                    "of comma, semicolon, tab, pipe, space; got ';;'"),
    ({"sep": '"'}, "a delimiter must be one character"),
    ({"decimal": ";"}, "the decimal mark must be '.' or ',', got ';'"),
])
def test_invalid_options_are_clear_errors(tmp_path, kwargs, message):
    path = german(tmp_path)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        load_dataset(path, target="Sorte", **kwargs)
