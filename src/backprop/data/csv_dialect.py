"""How a CSV file is written: its text encoding, field delimiter and decimal mark, sniffed from
its first lines unless given.

Why this module exists: "CSV" is whatever the spreadsheet's locale makes it.  German or French
Excel writes ``a;b`` with decimal commas (``3,14``); "Unicode text" is UTF-16 with a byte-order
mark and tabs; older Windows tools write cp1252.  pyarrow reads all of them, but only when told
the delimiter, the decimal mark and the encoding; told wrong, it reads one column holding
``"a;b;c"`` or reports rows as ragged.  :func:`sniff` decides from a sample of the file's first
lines, and the functions below it explain a file that still cannot be read (the delimiter it
looks like, the encoding it has), so that the error says why.

Sniffing rules (each overridable):

- **Encoding**: a byte-order mark names it (UTF-8, UTF-16 LE/BE, UTF-32); otherwise UTF-8.  Bytes
  that are not UTF-8 are an error naming the first one, its line and a likely encoding (cp1252,
  or latin-1 when cp1252 cannot decode them); UTF-16 without a mark is recognised by its zero
  bytes and refused with the same kind of hint.
- **Delimiter**: among ``,`` ``;`` tab ``|``, the ones that split the header into at least two
  fields and every sampled line into as many ("consistent").  The format's own delimiter
  (comma, tab for .tsv) wins when it is consistent, so ordinary files read as they always did;
  else the only consistent one; two or more consistent others are ambiguous (an error asking
  for ``--sep``); none consistent: the one that fits the most lines, so that a ragged row is
  reported against the right header.
- **Decimal mark**: a comma when the delimiter is not a comma and the sample holds some numbers
  written with a decimal comma (``3,14``, ``1.234,5``) and no more with a decimal point.  Then
  a point is a thousands point (``1.234`` is 1234, read by :func:`read_grouped_numbers`).  A
  sample whose only numbers with a point could be thousands (``421.878``) is ambiguous.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from typing import Any, NamedTuple

from backprop._utils import optional_import

__all__ = [
    "SEPARATOR_NAMES",
    "SNIFFED_SEPARATORS",
    "DECIMAL_MARKS",
    "Dialect",
    "TextProblem",
    "parse_sep",
    "check_decimal",
    "check_encoding",
    "sep_word",
    "sep_flag",
    "sniff",
    "read_grouped_numbers",
    "undecodable",
]

#: Names ``--sep`` accepts besides a single character (``"\\t"``, backslash-t, is a tab too).
SEPARATOR_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "space": " "}
#: The delimiters tried by sniffing.
SNIFFED_SEPARATORS = (",", ";", "\t", "|")
#: Decimal marks of CSV numbers.
DECIMAL_MARKS = (".", ",")

_SAMPLE_BYTES = 1 << 18  # enough for 200 lines of 1,300 characters
_SAMPLE_LINES = 200
_SEP_WORDS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}
#: Byte-order marks, longest first (UTF-32 LE's starts with UTF-16 LE's): the codec that reads
#: the file and drops the mark, the name used in messages, and the codecs that agree with it.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE", ("utf-32", "utf-32-le")),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE", ("utf-32", "utf-32-be")),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8", ("utf-8", "utf-8-sig")),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE", ("utf-16", "utf-16-le")),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE", ("utf-16", "utf-16-be")),
)
_NUMBER = r"[+-]?(?:\d+{0}\d*|{0}\d+)(?:[eE][+-]?\d+)?"
_COMMA_NUMBER = re.compile(_NUMBER.format(","))
_POINT_NUMBER = re.compile(_NUMBER.format(r"\."))
#: A number with thousands points, as European spreadsheets may write it: 1.234 or 1.234,5
_GROUPED = r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+"
_GROUPED_NUMBER = re.compile(_GROUPED + r"(?:,\d*)?")
#: A column of these is read by :func:`read_grouped_numbers` (pyarrow cannot)
_GROUPED_COLUMN = rf"^\s*(?:(?:{_GROUPED}|[+-]?\d+)(?:,\d*)?|[+-]?,\d+)\s*$"


class TextProblem(ValueError):
    """A CSV file's text cannot be read as given or sniffed; ``str(err)`` says why (without the
    file name, which the reader adds)."""


class Dialect(NamedTuple):
    """How to read one CSV file.

    Attributes
    ----------
    sep : str
        The field delimiter (one character).
    decimal : str
        ``"."`` or ``","``.
    encoding : str
        The Python codec that decodes the file (``"utf-8"``: read as is, a UTF-8 byte-order
        mark skipped).
    sep_given : bool
        Whether ``sep`` was given rather than sniffed.
    looks_like : str or None
        A given ``sep`` that disagrees with sniffing: the delimiter the file looks written with.
    """

    sep: str
    decimal: str
    encoding: str
    sep_given: bool = False
    looks_like: str | None = None


# --------------------------------------------------------------------------- the options
def parse_sep(text: str) -> str:
    """A delimiter from its character or its name (:data:`SEPARATOR_NAMES`, or ``\\t``).

    Raises ``ValueError`` for anything but one character that is not a quote or a line break.
    """
    sep = SEPARATOR_NAMES.get(text.lower(), "\t" if text == "\\t" else text)
    if len(sep) != 1 or sep in "\"\r\n":
        raise ValueError(f"a delimiter must be one character (not a quote or a line break) or "
                         f"one of {', '.join(SEPARATOR_NAMES)}; got {text!r}")
    return sep


def check_decimal(mark: str) -> str:
    """``mark`` when it is one of :data:`DECIMAL_MARKS`; else ``ValueError``."""
    if mark not in DECIMAL_MARKS:
        raise ValueError(f"the decimal mark must be '.' or ',', got {mark!r}")
    return mark


def check_encoding(name: str) -> str:
    """The canonical Python codec name of a text encoding (``"latin1"`` -> ``"iso8859-1"``);
    ``ValueError`` for a name Python does not know or a codec that is not a text encoding."""
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"unknown text encoding {name!r}; use a Python codec name such as "
                         f"utf-8, utf-16, cp1252 or latin-1")
    return info.name


def sep_word(sep: str) -> str:
    """``"semicolon"`` for ``";"``; other characters quoted."""
    return _SEP_WORDS.get(sep, repr(sep))


def sep_flag(sep: str) -> str:
    """The ``--sep`` argument that selects ``sep``, quoted for a shell: ``--sep ';'``."""
    if sep == "\t":
        return "--sep tab"
    if sep == " ":
        return "--sep space"
    return f"--sep {sep}" if sep == "," else f"--sep '{sep}'"


# --------------------------------------------------------------------------- sniffing
def sniff(path: str | os.PathLike[str], default_sep: str = ",", sep: str | None = None,
          decimal: str | None = None, encoding: str | None = None) -> Dialect:
    """The dialect of a CSV file (gzip/bz2 compressed by its name, as pyarrow reads it):
    ``sep``, ``decimal`` and ``encoding`` when given, else sniffed from its first lines (see
    the module's rules).  ``default_sep`` is the format's delimiter (``","``, tab for .tsv).

    Raises
    ------
    TextProblem
        Bytes the encoding cannot decode (the first one and its line), a byte-order mark that
        contradicts the given encoding, UTF-16 without a byte-order mark, or a delimiter that
        sniffing cannot choose.
    ValueError
        An invalid ``sep``, ``decimal`` or ``encoding`` argument.
    """
    sep = None if sep is None else parse_sep(sep)
    decimal = None if decimal is None else check_decimal(decimal)
    given = None if encoding is None else check_encoding(encoding)
    head, whole = _read_head(path, _SAMPLE_BYTES)
    codec = _choose_codec(head, given)
    rows = _sample_rows(_decode_head(head, codec, whole), whole)
    fits = {d: _fit(rows, d) for d in SNIFFED_SEPARATORS}
    consistent = [d for d in _preference(default_sep) if fits[d] == 1.0]
    looks_like = None
    sep_given = sep is not None
    if sep is None:
        sep = _choose_sep(default_sep, consistent, fits, rows)
    else:  # a given delimiter that sniffing would not choose: say which it would
        try:
            sniffed = _choose_sep(default_sep, consistent, fits, rows)
        except TextProblem:
            sniffed = consistent[0]
        if sniffed != sep and fits[sniffed] is not None and fits.get(sep) != 1.0:
            looks_like = sniffed
    if decimal is None:
        decimal = _sniff_decimal(rows, sep)
    return Dialect(sep, decimal, codec, sep_given, looks_like)


def _read_head(path: str | os.PathLike[str], size: int) -> tuple[bytes, bool]:
    """The first ``size`` bytes of the (decompressed) file, and whether that is all of it."""
    pa = optional_import("pyarrow")
    with pa.input_stream(os.fspath(path), compression="detect") as stream:
        chunks, got = [], 0
        while got < size:
            chunk = stream.read(size - got)
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks), not stream.read(1)


def _bom(head: bytes) -> tuple[str, str, tuple[str, ...]] | None:
    """``(codec, name, agreeing codecs)`` of the byte-order mark ``head`` starts with."""
    for mark, codec, name, agree in _BOMS:
        if head.startswith(mark):
            return codec, name, agree
    return None


def _choose_codec(head: bytes, given: str | None) -> str:
    """The codec to read with: the byte-order mark's (which must agree with a given encoding),
    else the given encoding, else UTF-8 (UTF-16 without a mark is refused with a hint)."""
    bom = _bom(head)
    if bom is not None:
        codec, name, agree = bom
        if given is not None and given not in agree:
            raise TextProblem(f"the file is {name} text (it starts with a {name} byte-order "
                              f"mark), not {given}: pass --encoding {agree[0]}, or leave "
                              f"--encoding out")
        return "utf-8" if codec == "utf-8-sig" else codec  # pyarrow skips a UTF-8 mark
    if given is not None:  # UTF-8 is read as is, without transcoding, a mark or not
        return "utf-8" if given == "utf-8-sig" else given
    half = len(head) // 2
    if half >= 2:
        even, odd = head[0:2 * half:2].count(0), head[1:2 * half:2].count(0)
        for zeros, other, order in ((odd, even, "le"), (even, odd, "be")):
            if zeros >= half / 2 and other <= zeros / 10:
                raise TextProblem(
                    f"the file looks like UTF-16 {order.upper()} text without a byte-order "
                    f"mark (every other byte is 0): pass --encoding utf-16-{order}")
    return "utf-8"


def _decode_head(head: bytes, codec: str, whole: bool) -> str:
    """The sample as text (an incomplete character at its end dropped); a byte that does not
    decode is a :class:`TextProblem` naming it."""
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        return decoder.decode(head, final=whole)
    except UnicodeDecodeError as exc:
        raise TextProblem(_bad_byte(exc, codec, 1)) from None


def _sample_rows(text: str, whole: bool) -> list[str]:
    """The sample's first lines (blank ones dropped), the cut-off last record left out (the
    cut may fall inside a quoted field that holds line breaks)."""
    if not whole:
        end = text.rfind("\n") + 1
        quotes = text.count('"', 0, end)
        while end > 0 and quotes % 2:  # a line break inside quotes: go back to the one before
            start = text.rfind("\n", 0, end - 1) + 1
            quotes -= text.count('"', start, end)
            end = start
        text = text[:end]
    return [line for line in itertools.islice(io.StringIO(text, newline=None), _SAMPLE_LINES + 1)
            if line.strip("\r\n")]


def _fields(rows: list[str], sep: str) -> list[int]:
    """Fields per record of ``rows`` split on ``sep`` (quotes as pyarrow reads them)."""
    try:
        return [len(r) for r in csv.reader(rows, delimiter=sep, strict=False) if r]
    except csv.Error:  # a field past csv's size limit: not a sample to judge by
        return []


def _fit(rows: list[str], sep: str) -> float | None:
    """The share of records with the header's number of fields, when ``sep`` splits the header
    at all (None otherwise)."""
    counts = _fields(rows, sep)
    if not counts or counts[0] < 2:
        return None
    body = counts[1:]
    return sum(c == counts[0] for c in body) / len(body) if body else 1.0


def _preference(default_sep: str) -> list[str]:
    return [default_sep] + [d for d in SNIFFED_SEPARATORS if d != default_sep]


def _choose_sep(default_sep: str, consistent: list[str], fits: dict[str, float | None],
                rows: list[str]) -> str:
    """The delimiter by the module's rules."""
    if default_sep in consistent or len(consistent) == 1:
        return default_sep if default_sep in consistent else consistent[0]
    if consistent:
        counts = [_fields(rows, d)[0] for d in consistent]
        shown = " and ".join(f"{sep_word(d)} ({k} fields)" for d, k in zip(consistent, counts))
        raise TextProblem(f"cannot tell its delimiter: every one of its first {len(rows)} lines "
                          f"splits evenly on {shown}; pass "
                          + " or ".join(sep_flag(d) for d in consistent))
    scored = [(fits[d], -i, d) for i, d in enumerate(_preference(default_sep))
              if fits.get(d) is not None]
    return max(scored)[2] if scored else default_sep


def _sniff_decimal(rows: list[str], sep: str) -> str:
    """``","`` when a non-comma-delimited sample writes some numbers with a decimal comma
    (``3,14``, ``1.234,5``) and no more with a decimal point; ``"."`` otherwise.  A sample whose
    only numbers with a point could have a thousands point (``421.878``) is ambiguous."""
    if sep == ",":
        return "."
    try:
        cells = [c.strip() for r in csv.reader(rows[1:], delimiter=sep, strict=False)
                 for c in r]
    except csv.Error:
        return "."
    grouped = [c for c in cells if _GROUPED_NUMBER.fullmatch(c)]
    # 1.234,5 and 1.234.567 can only have thousands points; 421.878 may be 421 and a fraction
    maybe = [c for c in grouped if "," not in c and c.count(".") == 1]
    commas = sum(1 for c in cells if _COMMA_NUMBER.fullmatch(c)) + len(grouped) - len(maybe)
    points = sum(1 for c in cells if _POINT_NUMBER.fullmatch(c)) - len(maybe)
    if commas and commas >= points:
        return ","
    if maybe and not points:
        example = maybe[0]
        raise TextProblem(
            f"cannot tell its decimal mark: {example} is {example.replace('.', '')} with "
            f"--decimal , (a thousands point, as European spreadsheets write it) or "
            f"{float(example):g} with --decimal .")
    return "."


def read_grouped_numbers(table: Any) -> Any:
    """A pyarrow Table read with decimal commas, its text columns of numbers with thousands
    points (``1.234``, ``-1.234,5``, with plain ones such as ``7`` or ``0,5`` among them) turned
    into float64: pyarrow reads the decimal comma, not the thousands point."""
    pa = optional_import("pyarrow")
    pc = optional_import("pyarrow.compute")
    for i, field in enumerate(table.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        col = table.column(i)
        if not (pc.all(pc.match_substring_regex(col, _GROUPED_COLUMN)).as_py()
                and pc.any(pc.match_substring(col, ".")).as_py()):
            continue
        text = pc.replace_substring(pc.utf8_trim_whitespace(col), ".", "")
        table = table.set_column(i, field.name, pc.cast(pc.replace_substring(text, ",", "."),
                                                          pa.float64()))
    return table


# --------------------------------------------------------------------------- explaining
def undecodable(path: str | os.PathLike[str], encoding: str) -> str | None:
    """Why the file does not decode with ``encoding``: its first bad byte, the line it is on
    and a likely encoding (``"byte 0xe9 at line 3 is not UTF-8; it looks like cp1252: pass
    --encoding cp1252"``); None when the whole file decodes."""
    pa = optional_import("pyarrow")
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with pa.input_stream(os.fspath(path), compression="detect") as stream:
        while True:
            block = stream.read(1 << 20)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return _bad_byte(exc, encoding, line)
            line += text.count("\n")
            if not block:
                return None


def _bad_byte(exc: UnicodeDecodeError, encoding: str, first_line: int) -> str:
    """The message for a byte that ``encoding`` cannot decode; ``exc.object`` is the text from
    line ``first_line`` on."""
    data = bytes(exc.object)
    line = first_line + data[: exc.start].decode(encoding, "replace").count("\n")
    codec = codecs.lookup(encoding).name
    what = "UTF-8" if codec == "utf-8" else encoding
    message = f"byte 0x{data[exc.start]:02x} at line {line} is not {what}"
    if exc.end == len(data) and exc.reason in ("unexpected end of data", "truncated data"):
        return message + " (the file ends inside a character)"
    if codec.startswith(("utf-16", "utf-32")):
        return message
    start = data.rfind(b"\n", 0, exc.start) + 1  # from the start of the bad byte's line
    guess = _guess_encoding(data[start: exc.start + 4096], codec)
    return message + (f"; it looks like {guess}: pass --encoding {guess}" if guess else "")


def _guess_encoding(data: bytes, failed: str) -> str | None:
    """An encoding other than ``failed`` that decodes ``data`` (which may end inside a
    character): UTF-8, else cp1252 (what Windows and Excel write), else latin-1 (which decodes
    any bytes)."""
    for name, codec in (("utf-8", "utf-8"), ("cp1252", "cp1252"), ("latin-1", "iso8859-1")):
        if codec == failed:
            continue
        try:
            codecs.getincrementaldecoder(codec)().decode(data, final=False)
        except UnicodeDecodeError:
            continue
        return name
    return None
