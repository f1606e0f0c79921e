"""Read one CRM export (CSV, Excel, Parquet) into a raw frame and say what was detected.

CSV detection covers encoding (UTF-8, UTF-8 with BOM, UTF-16 with BOM, cp1252, latin-1), delimiter
(``,`` ``;`` tab ``|``), decimal comma with thousands dot vs decimal point, and the date format of
date-looking columns (``dd.mm.yyyy``, ISO, ISO with ``.000Z``). Columns are read as text unless the
caller names them numeric, so ids and postcodes keep their leading zeros. Rows that cannot be taken as they
are (more or fewer fields than the header, a truncated last row, a NUL byte) become rejections with their row
number instead of vanishing or being padded; a file that cannot be read at all raises :class:`ImportFileError`
with one sentence.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ImportFileError

__all__ = ["RawTable", "Sniffed", "Source", "sniff", "read_table", "parse_numbers", "parse_dates",
           "detect_date_format", "SAMPLE_BYTES"]

#: Bytes looked at for detection (encoding, delimiter, decimal). Large enough for a few hundred rows.
SAMPLE_BYTES = 256 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_EXCEL_EXT = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
_EMPTY_REJECTIONS_COLUMNS = ["file", "row", "column", "value", "rule"]

Source = str | Path | bytes | bytearray | memoryview


@dataclass
class RawTable:
    """A file as read, before mapping to the canonical schema.

    ``frame`` has the source headers as columns (text unless asked numeric), ``row_numbers`` the 1-based
    data row number of each row, ``bad_rows`` one rejection per row that could not be parsed, and
    ``detected`` what was found (format, encoding, delimiter, decimal, thousands, dates, sheet).
    ``rows_read == len(frame) + len(bad_rows)``.
    """

    frame: pd.DataFrame
    file: str
    row_numbers: np.ndarray
    detected: dict
    bad_rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_EMPTY_REJECTIONS_COLUMNS))
    #: what the reader had to guess and the user should check (one sentence each, naming the file)
    warnings: list[str] = field(default_factory=list)
    #: derived frames computed once per table (e.g. the parsed pipeline, which owners and revenue both use)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.bad_rows)


@dataclass
class Sniffed:
    """What detection found from the first bytes of a file: its header, a sample and the parameters."""

    header: list[str]
    sample: pd.DataFrame
    detected: dict
    #: the whole table when detection had to read it anyway (Excel, Parquet), so it is not read twice
    raw: RawTable | None = None
    #: the header as the file wrote it (``header`` makes repeated names unique: ``revenue``, ``revenue.1``)
    raw_header: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- helpers


def _name_of(source: Source, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, Path)):
        return Path(source).name
    return "upload"


def _head_bytes(source: Source, n: int = SAMPLE_BYTES) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:n])
    path = Path(source)
    if not path.exists():
        raise ImportFileError(f"{path} does not exist.")
    if path.is_dir():
        raise ImportFileError(f"{path} is a folder, not a file.")
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise ImportFileError(f"{path.name} could not be opened: {exc.strerror or exc}.") from None


def _handle(source: Source):
    """A path or a fresh binary buffer over in-memory bytes (pandas and calamine accept both)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    return str(source)


def _kind(source: Source, head: bytes, file: str) -> str:
    ext = Path(file).suffix.lower()
    if head.startswith(b"PAR1") or ext == ".parquet":
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0") or ext in _EXCEL_EXT:
        return "excel"
    return "csv"


def _detect_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    # the sample may end inside a multi-byte character: ignore an incomplete tail
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    if _has_utf8_pairs(head):
        return "utf-8"  # UTF-8 text with a few stray single-byte characters: repaired line by line on reading
    return _single_byte_encoding(head)


#: a run of bytes that are not valid UTF-8, as ``surrogateescape`` decoding leaves them
_STRAY_BYTES = re.compile("[\udc80-\udcff]+")
#: line numbers named in the warning about lines that are not UTF-8
_MAX_LINES_NAMED = 10
#: bytes looked at per step when a file is checked or repaired (whole lines; memory stays bounded)
_CHUNK_BYTES = 4 << 20
#: bytes that cp1252 leaves undefined: a file holding one is read as latin-1
_NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


def _single_byte_encoding(data: bytes) -> str:
    return "latin-1" if any(b in data for b in _NOT_CP1252) else "cp1252"


def _has_utf8_pairs(data: bytes) -> bool:
    """True when the bytes hold a UTF-8 multi-byte character (a lead byte followed by a continuation byte).

    Single-byte exports (German cp1252: ``ü`` is one byte followed by a letter) practically never do, so this
    tells "UTF-8 with a few stray bytes" from "a cp1252 file". Vectorised, a few milliseconds per 4 MB.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    for i in range(0, max(len(arr) - 1, 0), _CHUNK_BYTES):
        a = arr[i:i + _CHUNK_BYTES + 1]
        if ((a[:-1] >= 0xC2) & (a[:-1] <= 0xF4) & ((a[1:] & 0xC0) == 0x80)).any():
            return True
    return False


def _repair_line(line: bytes) -> str:
    """One line that is not valid UTF-8: its valid characters as UTF-8, each stray byte run as cp1252."""
    def stray(m: re.Match) -> str:
        raw = m.group().encode("utf-8", "surrogateescape")
        return raw.decode(_single_byte_encoding(raw))

    return _STRAY_BYTES.sub(stray, line.decode("utf-8", "surrogateescape"))


def _repair(data: bytes) -> tuple[bytes, str, list[int]]:
    """The whole file's encoding, decided once: ``(bytes to read, encoding, fallback_lines)``.

    Valid UTF-8 → the bytes as they are, ``"utf-8"``. No UTF-8 multi-byte character at all → a single-byte export,
    ``"cp1252"`` (``"latin-1"`` if it holds a byte cp1252 leaves undefined). Otherwise UTF-8 with a few stray bytes
    (rows pasted from another system): the bytes come back as valid UTF-8 in which only the lines holding stray
    bytes changed (each stray run read as cp1252, the rest of the line kept), and ``fallback_lines`` lists their
    1-based numbers (header = line 1). Clean 4 MB blocks are checked by the C decoder and passed through as they
    are; Python only splits the blocks that hold a stray byte.
    """
    try:
        data.decode("utf-8")
        return data, "utf-8", []
    except UnicodeDecodeError:
        pass
    if not _has_utf8_pairs(data):
        return data, _single_byte_encoding(data), []
    out: list[bytes] = []
    lines: list[int] = []
    mv = memoryview(data)
    pos, line, n = 0, 1, len(data)
    while pos < n:
        end = data.find(b"\n", pos + _CHUNK_BYTES)
        end = n if end < 0 else end + 1
        block = mv[pos:end]
        try:
            codecs.utf_8_decode(block, "strict", True)
            out.append(block)
        except UnicodeDecodeError:
            pieces = bytes(block).split(b"\n")
            for i, piece in enumerate(pieces):
                try:
                    piece.decode("utf-8")
                except UnicodeDecodeError:
                    lines.append(line + i)
                    piece = _repair_line(piece).encode("utf-8")
                out.append(piece + b"\n" if i < len(pieces) - 1 else piece)
        line += data.count(b"\n", pos, end)
        pos = end
    return b"".join(out), "utf-8", lines


def _decode_lines(data: bytes) -> tuple[str, str, list[int]]:
    """Decode a whole CSV once as :func:`_repair` decides: ``(text, encoding, fallback_lines)``."""
    fixed, encoding, lines = _repair(data)
    return fixed.decode(encoding), encoding, lines


def _fallback_warning(file: str, lines: list[int], n_lines: int) -> str:
    """One sentence naming the lines whose stray bytes were read as cp1252."""
    named = [f"{n:,}" for n in lines[:_MAX_LINES_NAMED]]
    if len(lines) > _MAX_LINES_NAMED:
        shown = f"{', '.join(named)} and {len(lines) - _MAX_LINES_NAMED:,} more"
    else:
        shown = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]
    return (f"{file}: {len(lines):,} of {n_lines:,} lines hold bytes that are not valid UTF-8 although the rest of "
            f"the file is UTF-8 (line{'s' if len(lines) > 1 else ''} {shown}, counting the header as line 1); "
            "those bytes were read as Windows-1252 (cp1252), so check the text in those rows.")


def _decode(data: bytes, encoding: str) -> str:
    if encoding in ("utf-8", "utf-8-sig"):
        return _decode_lines(data)[0]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode(encoding, errors="ignore")


def _looks_binary(text: str) -> bool:
    """More than 2 % control characters (NUL included) in the first 20,000: no text table. A stray NUL in a text
    file is no reason to refuse it: its row is rejected wherever it is (see :func:`_reject_nul_rows`)."""
    if not text:
        return False
    sample = text[:20000]
    ctrl = len(re.findall(r"[\x00-\x08\x0e-\x1f]", sample))
    return ctrl / len(sample) > 0.02


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _detect_delimiter(lines: list[str]) -> str:
    """The candidate that splits the first lines into the most fields most consistently (quotes ignored)."""
    best, best_score = ",", (-1.0, -1)
    lines = [_QUOTED.sub("", ln) for ln in lines[:30] if ln.strip()]
    if not lines:
        return ","
    for d in _DELIMITERS:
        counts = np.array([ln.count(d) for ln in lines])
        if counts[0] == 0:
            continue
        share = float(np.mean(counts == counts[0]))
        score = (share, int(counts[0]))
        if score > best_score:
            best, best_score = d, score
    return best


_COMMA_DEC = re.compile(r"^[-+]?(\d{1,3}(\.\d{3})+(,\d*)?|\d+,\d{1,2}|\d+,\d{4,}|\d{1,3}(\.\d{3})+)$")
_POINT_DEC = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+(\.\d*)?|\d+\.\d{1,2}|\d+\.\d{4,}|\d+(\.\d+)?[eE][-+]?\d+)$")


def _detect_decimal(sample: pd.DataFrame, delimiter: str) -> tuple[str, str | None]:
    """``(decimal, thousands)`` from unambiguous number cells; a tie follows the delimiter's locale."""
    if sample.empty:
        return ".", None
    cells = pd.Series(sample.to_numpy().ravel()).dropna().astype(str).str.strip()
    cells = cells[cells.str.contains(r"\d", regex=True)]
    # "1.234,50 €" is as much evidence as "1.234,50" (parse_numbers drops the sign the same way)
    cells = cells.str.replace(r"^([-+]?)\s*[€$£]\s*|\s*[€$£%]$", r"\1", regex=True)
    comma = int(cells.str.match(_COMMA_DEC).sum())
    point = int(cells.str.match(_POINT_DEC).sum())
    if comma > point or (comma == point and comma > 0 and delimiter == ";"):
        return ",", "."
    if point > 0 and cells.str.match(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$").any():
        return ".", ","
    return ".", None


_DATE_FORMATS = (
    ("dd.mm.yyyy", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}( \d{1,2}:\d{2}(:\d{2})?)?$"), "%d.%m.%Y"),
    ("ISO with .000Z", re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"), "ISO8601"),
    ("ISO", re.compile(r"^\d{4}-\d{2}(-\d{2})?([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"), "ISO8601"),
    ("dd/mm/yyyy", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%d/%m/%Y"),
)


def detect_date_format(values: pd.Series) -> str | None:
    """The name of the date format (``dd.mm.yyyy``, ``ISO``, ``ISO with .000Z``, ``dd/mm/yyyy``,
    ``mm/dd/yyyy``) that at least 95 % of the non-blank ``values`` follow, or ``None``."""
    txt = values.dropna().astype(str).str.strip()
    txt = txt[txt != ""].head(500)
    if txt.empty:
        return None
    for label, rx, _ in _DATE_FORMATS:
        if txt.str.match(rx).mean() >= 0.95:
            if label == "dd/mm/yyyy":
                first = txt.str.extract(r"^(\d{1,2})/(\d{1,2})/")
                if (first[1].astype(float) > 12).any() and not (first[0].astype(float) > 12).any():
                    return "mm/dd/yyyy"
            return label
    return None


def parse_dates(values: pd.Series, fmt: str | None = None) -> pd.Series:
    """Parse text dates in the detected (or given) format into naive ``datetime64[ns]``; bad cells → NaT."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert(None)
        return out.astype("datetime64[ns]")
    fmt = fmt or detect_date_format(values)
    txt = values.astype("string").str.strip()
    if fmt in ("ISO", "ISO with .000Z", None):
        txt = txt.str.replace(r"(\.\d+)?(Z|[+-]\d\d:?\d\d)$", "", regex=True)
        out = pd.to_datetime(txt, format="ISO8601", errors="coerce")
    elif fmt == "dd.mm.yyyy":
        out = pd.to_datetime(txt.str.slice(0, 10).str.strip(), format="%d.%m.%Y", errors="coerce")
    elif fmt == "dd/mm/yyyy":
        out = pd.to_datetime(txt, format="%d/%m/%Y", errors="coerce")
    else:
        out = pd.to_datetime(txt, format="%m/%d/%Y", errors="coerce")
    return out.astype("datetime64[ns]")


def parse_numbers(values: pd.Series, decimal: str = ".", thousands: str | None = None) -> pd.Series:
    """Text numbers in the given locale as float64; text that is no number stays text for validation.

    Cells that parse become floats; the rest keep their original text so that the schema check reports
    them with their value ("not a number"), which is why the result may be ``object`` dtype.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if values.dtype == object:
        # cells that are numbers already (Excel, or a second pass) must not be re-read as locale text
        is_num = values.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).to_numpy(bool)
        if is_num.any():
            out = values.copy()
            rest = ~is_num
            if rest.any():
                parsed = parse_numbers(values[rest].astype("string"), decimal, thousands)
                out[rest] = parsed.to_numpy()
                if parsed.dtype == object:  # some cells are text: keep them for the schema to reject
                    return out
            return out.astype("float64")
    txt = values.astype("string").str.strip()
    # fast path: most cells are plain numbers in the point locale
    num = pd.to_numeric(txt.mask(txt == ""), errors="coerce") if decimal == "." and not thousands else None
    todo = txt.notna() & (txt != "") if num is None else num.isna() & txt.notna() & (txt != "")
    if num is None:
        num = pd.Series(np.nan, index=txt.index, dtype="float64")
    if todo.any():
        norm = txt[todo]
        if thousands:
            norm = norm.str.replace(thousands, "", regex=False)
        if decimal != ".":
            norm = norm.str.replace(decimal, ".", regex=False)
        norm = norm.str.replace(r"^([-+]?)[€$£]\s*|\s*[€$£%]$", r"\1", regex=True).str.replace(" ", "", regex=False)
        num = num.astype("float64")
        num[todo] = pd.to_numeric(norm, errors="coerce").astype("float64")
    bad = num.isna() & txt.notna() & (txt != "")
    if bad.any():
        return num.astype(object).where(~bad, txt.astype(object))
    return num.astype("float64")


# ---------------------------------------------------------------------------------------------- CSV


def sniff(source: Source, name: str | None = None, sheet: str | int | None = None) -> Sniffed:
    """Detect format, encoding, delimiter and decimal from the first bytes; return header and a sample.

    Raises
    ------
    ImportFileError : the file is empty, binary or has no header.
    """
    file = _name_of(source, name)
    head = _head_bytes(source)
    kind = _kind(source, head, file)
    if kind != "csv":
        raw = read_table(source, name=name, sheet=sheet)
        return Sniffed(list(map(str, raw.frame.columns)), raw.frame.head(1000), raw.detected, raw)
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError(f"{file} is empty.")
    encoding = _detect_encoding(head)
    text = _decode(head, encoding)
    if _looks_binary(text):
        raise ImportFileError(f"{file} does not look like a table: it contains binary data, not text.")
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if len(head) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last sampled line may be cut off
    delimiter = _detect_delimiter(lines)
    try:
        header = next(csv.reader([lines[0]], delimiter=delimiter)) if lines else []
    except csv.Error:
        header = lines[0].split(delimiter) if lines else []
    raw_header = [h.strip() for h in header]
    if not any(raw_header):
        raise ImportFileError(f"{file} has no header row.")
    header = _dedupe(raw_header)
    try:
        sample = pd.read_csv(io.StringIO("\n".join(lines)), sep=delimiter, dtype=str, keep_default_na=False,
                             nrows=1000, on_bad_lines="skip", engine="python")
    except Exception:  # noqa: BLE001 - a sample that does not parse just gives no locale evidence
        sample = pd.DataFrame(columns=header)
    decimal, thousands = _detect_decimal(sample, delimiter)
    detected = {"format": "csv", "encoding": encoding, "delimiter": _DELIM_NAMES[delimiter],
                "decimal": "comma" if decimal == "," else "point",
                "thousands": {".": "dot", ",": "comma", None: "none"}[thousands]}
    return Sniffed(header, sample, detected, raw_header=raw_header)


def _csv_params(detected: dict) -> tuple[str, str, str, str | None]:
    delim = {v: k for k, v in _DELIM_NAMES.items()}[detected["delimiter"]]
    dec = "," if detected["decimal"] == "comma" else "."
    thou = {"dot": ".", "comma": ",", "none": None}[detected["thousands"]]
    return detected["encoding"], delim, dec, thou


@dataclass
class _ArrowRead:
    """What the Arrow reader gives back: the frame, the rows it set aside (``(data row, fields, text)``), whether
    any text holds a NUL byte, and the text of the numeric columns as the file wrote it (for rejection messages)."""

    frame: pd.DataFrame
    invalid: list[tuple[int, int, str]]
    has_nul: bool
    numeric_text: dict[str, pd.Series]


#: Arrow's refusal of a row whose field count differs from the header's (then read serially, setting such rows
#: aside); matched on the message because Arrow raises the same ``ArrowInvalid`` for every parse problem
_RAGGED_ERROR = re.compile(r"Expected \d+ columns, got \d+")
_RAGGED = "ragged"


def _read_csv_arrow(source: Source, enc: str, delim: str, header: list[str], numeric: set[str], dec: str,
                    thou: str | None, serial: bool = False) -> _ArrowRead:
    """The fast path: Arrow's multi-threaded CSV reader, every column read as text (ids keep their zeros),
    text kept in Arrow-backed strings, the named numeric columns parsed afterwards in the file's locale.

    A row whose field count differs from the header's makes Arrow raise (:data:`_RAGGED_ERROR`); with ``serial``
    the file is read on one thread instead (Arrow knows row numbers only there) and such rows are set aside with
    their data row number, so only they need a word, not the whole file a slower reader. Raises on anything else
    unusual (rows longer than a block, bad encoding) so that the caller falls back to the row-by-row reader.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    encoding = {"utf-8-sig": "utf8", "utf-8": "utf8"}.get(enc, enc)
    names = _dedupe([h.lstrip("\ufeff").strip() for h in header])
    invalid: list[tuple[int, int, str]] = []

    def on_invalid(row) -> str:
        # Arrow counts records from 1 with the header (blank lines not counted): data row = number - 1
        invalid.append((int(row.number) - 1, int(row.actual_columns), row.text))
        return "skip"

    src = pa.BufferReader(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) else str(source)
    table = pacsv.read_csv(
        src,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=8 << 20, column_names=names, skip_rows=1,
                                       use_threads=not serial),
        parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True,
                                         invalid_row_handler=on_invalid if serial else None),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                             strings_can_be_null=True, quoted_strings_can_be_null=True,
                                             null_values=[""]))
    has_nul = any(_holds_nul(table.column(i)) for i in range(table.num_columns))
    cols, texts = {}, {}
    for raw_name, name in zip(table.column_names, names):
        arr = table.column(raw_name)
        if name in numeric:
            texts[name] = pd.Series(pd.arrays.ArrowStringArray(arr))
            if dec == "." and not thou:
                try:  # plain numbers: a vectorised cast, no per-cell work
                    cols[name] = pd.Series(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False))
                    continue
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    pass
            cols[name] = parse_numbers(texts[name], dec, thou)
        else:
            cols[name] = pd.Series(pd.arrays.ArrowStringArray(arr))
    return _ArrowRead(pd.DataFrame(cols), invalid, has_nul, texts)


def _holds_nul(column) -> bool:
    """True when a string column's bytes hold a NUL (a whole-buffer scan, a few ms per 100 MB; a false alarm from
    bytes outside a slice only costs the exact per-cell check that follows)."""
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        if data is not None and data.size and np.frombuffer(data, dtype=np.uint8).min() == 0:
            return True
    return False


def _read_csv_robust(data: bytes, enc: str, delim: str, file: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Row by row with the csv module, for files the fast parser refuses: a row with more or fewer fields than
    the header becomes a rejection (a truncated last row says so)."""
    text = _decode(data, enc).lstrip("\ufeff")
    csv.field_size_limit(2**31 - 1)
    # empty lines are no records (as in the fast reader); a line of blanks is one but holds nothing to keep
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim) if r]
    if not any(len(r) > 1 or r[0].strip() for r in records):
        raise ImportFileError(f"{file} is empty.")
    header = [h.strip() for h in records[0]]
    body = records[1:]
    n = len(header)
    lens = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    blank = np.fromiter((len(r) == 1 and not r[0].strip() for r in body), dtype=bool, count=len(body))
    truncated_last = len(body) > 0 and lens[-1] < n and not text.endswith(("\n", "\r"))
    bad = (lens != n) & ~blank
    good_idx = np.flatnonzero(~bad & ~blank)
    frame = pd.DataFrame([body[i] for i in good_idx], columns=_dedupe(header))
    frame = frame.where(frame != "", np.nan)
    bad_idx = np.flatnonzero(bad)
    rules = [_field_count_rule(int(lens[i]), n, truncated_last and i == len(body) - 1) for i in bad_idx]
    bad_rows = pd.DataFrame({"file": file, "row": bad_idx + 1, "column": "",
                             "value": [delim.join(body[i])[:200] for i in bad_idx], "rule": rules})
    return frame, bad_rows.reindex(columns=_EMPTY_REJECTIONS_COLUMNS), good_idx + 1


def _field_count_rule(fields: int, header: int, cut: bool = False) -> str:
    return (f"row has {fields} field{'s' if fields != 1 else ''}, the header has {header}"
            + (" (file ends mid-row)" if cut else ""))


def _dedupe(header: list[str]) -> list[str]:
    """Unique column names as pandas gives them: a repeated header gets ``.1``, ``.2``; an empty one ``Unnamed: i``."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        h = h or f"Unnamed: {i}"
        if h in seen:
            seen[h] += 1
            out.append(f"{h}.{seen[h]}")
        else:
            seen[h] = 0
            out.append(h)
    return out


def _repeated_headers(file: str, header: list[str]) -> list[str]:
    """One warning per header the file repeats, naming the columns and what each is read as."""
    names = _dedupe(header)
    out = []
    for h in dict.fromkeys(h for h in header if h and header.count(h) > 1):
        pos = [i for i, x in enumerate(header) if x == h]
        cols = " and ".join(f"column {i + 1} as '{names[i]}'" for i in pos)
        out.append(f"{file}: the header names '{h}' {len(pos)} times; {cols} — only '{h}' is matched to a field, "
                   "so check which column holds what and rename the other in the file or name it in a mapping file.")
    return out


def _ends_mid_row(source: Source) -> bool:
    """True when the file's last byte is no line end (the last row may be cut off)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source) > 0 and bytes(source[-1:]) not in (b"\n", b"\r")
    with open(source, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return False
        fh.seek(-1, 2)
        return fh.read(1) not in (b"\n", b"\r")


#: what a NUL byte in a row means, in the rejection
_NUL_RULE = "holds a NUL byte (shown as \\0), which text never contains; the row may be damaged"


def _set_aside(raw: RawTable, drop: np.ndarray, rejections: pd.DataFrame) -> None:
    """Move the frame rows in ``drop`` to ``raw.bad_rows`` as ``rejections`` (kept in row order)."""
    keep = ~drop
    raw.frame = raw.frame.loc[keep].reset_index(drop=True)
    raw.row_numbers = np.asarray(raw.row_numbers)[keep]
    texts = raw.cache.get("numeric_text")
    if texts:
        raw.cache["numeric_text"] = {k: v[keep].reset_index(drop=True) for k, v in texts.items()}
    bad = pd.concat([raw.bad_rows, rejections], ignore_index=True) if len(raw.bad_rows) else rejections
    raw.bad_rows = bad.astype({"row": "int64"}).sort_values("row", kind="stable").reset_index(drop=True)


def _reject_nul_rows(raw: RawTable) -> None:
    """Rows holding a NUL byte become rejections naming the first such column, wherever they are in the file."""
    hit = np.zeros(len(raw.frame), bool)
    first = np.full(len(raw.frame), "", dtype=object)
    for col in raw.frame.columns:
        s = raw.frame[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        m = s.astype("string").str.contains("\x00", regex=False).fillna(False).to_numpy(bool)
        first[m & ~hit] = col
        hit |= m
    if not hit.any():
        return
    idx = np.flatnonzero(hit)
    values = [str(raw.frame[first[i]].iat[i]).replace("\x00", "\\0")[:200] for i in idx]
    rej = pd.DataFrame({"file": raw.file, "row": np.asarray(raw.row_numbers)[idx], "column": first[idx],
                        "value": values, "rule": _NUL_RULE})
    _set_aside(raw, hit, rej)


def _read_csv(source: Source, file: str, numeric: set[str], sn: Sniffed) -> RawTable:
    detected = dict(sn.detected)
    enc, delim, dec, thou = _csv_params(detected)
    warnings: list[str] = []

    def arrow(src: Source, encoding: str, serial: bool = False) -> _ArrowRead | str | None:
        try:
            out = _read_csv_arrow(src, encoding, delim, sn.header, numeric, dec, thou, serial=serial)
        except Exception as exc:  # noqa: BLE001 - anything unusual goes to the row-by-row reader
            return _RAGGED if not serial and _RAGGED_ERROR.search(str(exc)) else None
        detected["parser"] = "arrow"
        return out

    # Arrow checks UTF-8 as it reads, so a success here means the whole file is valid UTF-8 (the fast path)
    got = arrow(source, enc) if enc in ("utf-8", "utf-8-sig") else None
    if not isinstance(got, _ArrowRead) and enc in ("utf-8", "utf-8-sig", "cp1252", "latin-1"):
        # the first bytes only suggested the encoding: the whole file, decoded once, decides it (rows with too
        # few or too many fields are set aside only from text valid in that encoding: Arrow hands a row over as
        # text, and a row it cannot decode would be lost with a message on the console)
        data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
        fixed, whole, lines = _repair(data)
        if lines:  # UTF-8 with stray single-byte characters: read the repaired bytes
            source, enc = fixed, ("utf-8-sig" if enc == "utf-8-sig" else "utf-8")
            detected["not_utf8_lines"] = lines
            warnings.append(_fallback_warning(file, lines, fixed.count(b"\n") + (not fixed.endswith(b"\n"))))
        elif not (whole == "utf-8" and enc == "utf-8-sig"):
            enc = whole
        detected["encoding"] = enc
        del data, fixed
        if lines or whole != "utf-8":
            got = arrow(source, enc)
    elif got is None:
        got = arrow(source, enc)
    if got == _RAGGED:  # read again on one thread, where Arrow knows row numbers, setting those rows aside
        got = arrow(source, enc, serial=True)
    if got is None:
        data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
        try:
            frame, bad, rows = _read_csv_robust(data, detected["encoding"], delim, file)
        except ImportFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - nothing else can read it: one sentence
            raise ImportFileError(f"{file} could not be read as a {_DELIM_NAMES[delim]}-separated table "
                                  f"({type(exc).__name__}).") from None
        detected["parser"] = "row-by-row (the file has malformed rows)"
        texts = {}
        for col in numeric & set(frame.columns):
            texts[col] = frame[col].astype("string")
            frame[col] = parse_numbers(frame[col], dec, thou)
        raw = RawTable(frame, file, rows, detected, bad)
        raw.cache["numeric_text"] = texts
        _reject_nul_rows(raw)
    else:
        raw = RawTable(got.frame, file, np.arange(1, len(got.frame) + 1), detected)
        raw.cache["numeric_text"] = got.numeric_text
        if got.invalid:
            _set_aside_invalid(raw, got.invalid, len(sn.header), _ends_mid_row(source))
        if got.has_nul:
            _reject_nul_rows(raw)
    raw.warnings.extend(warnings)
    raw.warnings.extend(_repeated_headers(file, sn.raw_header))
    if raw.rows_read == 0:
        raise ImportFileError(f"{file} has a header but no data rows.")
    return raw


def _set_aside_invalid(raw: RawTable, invalid: list[tuple[int, int, str]], n_fields: int, cut: bool) -> None:
    """Number the rows Arrow kept around the ones it set aside, and turn those into rejections (a line of blanks
    is no row to reject; it only keeps its number)."""
    rows = np.array([r for r, _, _ in invalid], dtype=np.int64)
    total = len(raw.frame) + len(invalid)
    raw.row_numbers = np.setdiff1d(np.arange(1, total + 1), rows, assume_unique=True)
    real = [(r, k, t) for r, k, t in invalid if k > 1 or t.strip()]
    if not real:
        return
    rej = pd.DataFrame({"file": raw.file, "row": [r for r, _, _ in real], "column": "",
                        "value": [t[:200] for _, _, t in real],
                        "rule": [_field_count_rule(k, n_fields, cut and r == total) for r, k, _ in real]})
    bad = rej.reindex(columns=_EMPTY_REJECTIONS_COLUMNS)
    raw.bad_rows = bad.astype({"row": "int64"}).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- Excel


def _excel_rows(source: Source, file: str, sheet: str | int | None) -> tuple[list[list], str, str, list[str]]:
    """All rows of the chosen sheet (default: first visible worksheet), python-calamine with openpyxl fallback;
    with the sheet's name, the engine and the names of the visible sheets."""
    try:
        from python_calamine import CalamineWorkbook, SheetVisibleEnum

        wb = (CalamineWorkbook.from_filelike(io.BytesIO(bytes(source)))
              if isinstance(source, (bytes, bytearray, memoryview)) else CalamineWorkbook.from_path(str(source)))
        names = wb.sheet_names
        visible = [m.name for m in wb.sheets_metadata if m.visible == SheetVisibleEnum.Visible] or names
        if sheet is None:
            chosen = visible[0]
        elif isinstance(sheet, int):
            chosen = names[sheet]
        else:
            if sheet not in names:
                raise ImportFileError(f"{file} has no sheet named {sheet!r}; sheets: {', '.join(names)}.")
            chosen = sheet
        return wb.get_sheet_by_name(chosen).to_python(skip_empty_area=False), chosen, "python-calamine", visible
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001 - calamine refuses some files openpyxl can still read
        pass
    try:
        import openpyxl

        wb = openpyxl.load_workbook(_handle(source), read_only=True, data_only=True)
        visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"] or wb.sheetnames
        if sheet is None:
            chosen = visible[0]
        else:
            chosen = wb.sheetnames[sheet] if isinstance(sheet, int) else sheet
        rows = [list(r) for r in wb[chosen].iter_rows(values_only=True)]
        return rows, chosen, "openpyxl", visible
    except Exception as exc:  # noqa: BLE001
        raise ImportFileError(f"{file} could not be read as an Excel workbook ({type(exc).__name__}).") from None


def _cells_as_text(col: pd.Series) -> pd.Series:
    """Excel cells as text: whole numbers without '.0', dates as ISO, blanks as missing."""
    num = pd.to_numeric(col, errors="coerce")
    out = col.astype(object).where(col.notna(), None)
    isnum = num.notna() & col.map(type).isin([int, float]).to_numpy()
    if isnum.any():
        v = num[isnum].to_numpy(dtype="float64")
        whole = np.mod(v, 1) == 0
        txt = np.where(whole, np.char.mod("%d", np.where(whole, v, 0).astype(np.int64)), v.astype(str))
        out[isnum] = txt
    rest = out.notna() & ~isnum
    out[rest] = out[rest].astype(str)
    return out.where(out.astype("string").str.strip() != "", None)


def _excel_column(col: np.ndarray, numeric: bool) -> pd.Series:
    """One sheet column (object cells, blanks as None) typed by what it holds, without a loop per cell for
    the common cases: all text, all numbers, all dates. Mixed columns take the per-cell route."""
    kind = pd.api.types.infer_dtype(col, skipna=True)
    s = pd.Series(col, dtype=object)
    if numeric:
        if kind in ("floating", "integer", "mixed-integer-float", "empty"):
            return pd.to_numeric(s, errors="coerce").astype("float64")
        if kind == "string":
            return parse_numbers(s.astype(pd.StringDtype()))
        return parse_numbers(_cells_as_text(s))
    if kind in ("string", "empty"):
        return s.astype(pd.StringDtype())
    if kind in ("floating", "integer", "mixed-integer-float"):
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
        ok = np.isfinite(v)
        whole = ok & (np.mod(np.where(ok, v, 0), 1) == 0) & (np.abs(np.where(ok, v, 0)) < 2**53)
        txt = np.where(whole, np.where(whole, v, 0).astype(np.int64).astype(str), v.astype(str)).astype(object)
        return pd.Series(np.where(ok, txt, None), dtype=pd.StringDtype())
    if kind in ("date", "datetime", "datetime64"):
        ts = pd.to_datetime(s, errors="coerce")
        has_time = bool((ts.dropna() != ts.dropna().dt.normalize()).any())
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%S" if has_time else "%Y-%m-%d").astype(pd.StringDtype())
    return _cells_as_text(s).astype(pd.StringDtype())


def _read_excel(source: Source, file: str, sheet: str | int | None, numeric: set[str] | None) -> RawTable:
    rows, chosen, engine, sheets = _excel_rows(source, file, sheet)
    width = max((len(r) for r in rows), default=0)
    if not rows or width == 0:
        raise ImportFileError(f"{file}: sheet {chosen!r} is empty.")
    if any(len(r) != width for r in rows):
        rows = [list(r) + [None] * (width - len(r)) for r in rows]
    cells = np.empty((len(rows), width), dtype=object)
    cells[:] = rows
    blank = (cells == "") | pd.isna(cells)
    cells[blank] = None
    keep = ~blank.all(axis=1)  # wholly empty rows are layout, not data
    cells = cells[keep]
    if not len(cells):
        raise ImportFileError(f"{file}: sheet {chosen!r} is empty.")
    raw_header = [("" if h is None else str(h)).strip() for h in cells[0]]
    header = _dedupe(raw_header)
    body = cells[1:]
    if not len(body):
        raise ImportFileError(f"{file}: sheet {chosen!r} has a header but no data rows.")
    numeric = numeric or set()
    frame = pd.DataFrame({h: _excel_column(body[:, j], h in numeric) for j, h in enumerate(header)})
    detected = {"format": "excel", "sheet": chosen, "engine": engine, "sheets": sheets}
    return RawTable(frame, file, np.arange(1, len(frame) + 1), detected,
                    warnings=_repeated_headers(f"{file} (sheet {chosen!r})", raw_header))


# ---------------------------------------------------------------------------------------------- entry


def read_table(source: Source, name: str | None = None, sheet: str | int | None = None,
               numeric: Iterable[str] | None = None, sniffed: Sniffed | None = None) -> RawTable:
    """Read a CSV, Excel or Parquet export into a :class:`RawTable`.

    Parameters
    ----------
    source : path of the file, or its bytes (an upload).
    name : file name to report (defaults to the path's name; needed for bytes to see the extension).
    sheet : Excel sheet name or 0-based index; default the first visible worksheet.
    numeric : source headers to parse as numbers in the detected locale; all other columns are text.
    sniffed : result of :func:`sniff` when the caller already has it (saves a second look).

    Raises
    ------
    ImportFileError : the file is missing, empty, binary, or cannot be parsed at all.
    """
    file = _name_of(source, name)
    numeric = set(numeric or ())
    head = _head_bytes(source)
    kind = _kind(source, head, file)
    if kind == "parquet":
        try:
            frame = pd.read_parquet(_handle(source))
        except Exception as exc:  # noqa: BLE001
            raise ImportFileError(f"{file} could not be read as Parquet ({type(exc).__name__}).") from None
        if frame.empty:
            raise ImportFileError(f"{file} has no data rows.")
        return RawTable(frame.reset_index(drop=True), file, np.arange(1, len(frame) + 1), {"format": "parquet"})
    if kind == "excel":
        return _read_excel(source, file, sheet, numeric)
    sn = sniffed or sniff(source, name=file)
    raw = _read_csv(source, file, numeric, sn)
    dates = {}
    for col in raw.frame.columns:
        if col not in numeric and (raw.frame[col].dtype == object or isinstance(raw.frame[col].dtype, pd.StringDtype)):
            fmt = detect_date_format(raw.frame[col].head(500))
            if fmt:
                dates[col] = fmt
    if dates:
        raw.detected["dates"] = sorted(set(dates.values()))
        raw.detected["date_columns"] = dates
    return raw
