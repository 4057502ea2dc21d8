"""Reading the tables econometricians actually have into one raw string table.

BNS exports, tables copied out of papers and users' own CSV/XLSX files arrive with
decimal commas (``11,85``), dashes for missing cells, thousands separated by spaces,
headers on the wrong row and years spread across columns. This module turns any of
them into a ``DataFrame`` of raw cells plus the source row numbers; ``core`` then
validates it.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataFileError, PanelError, SpecificationError, show_rows

__all__ = ["load_table", "check_fits_in_memory", "available_memory", "parse_numbers", "is_year_label", "percent_cells",
           "MISSING_TOKENS", "DECIMAL_MARKS"]

# Cells that mean "no value" in BNS tables, in papers and in text written by other software
# (``str(None)``, ``str(pd.NA)``, Excel's ``#N/A``).
MISSING_TOKENS = frozenset({"", "-", "–", "—", "..", "...", "…", "x", "X", "nan", "NaN", "NA", "n/a", "N/A",
                            "n.a.", "N.A.", "None", "none", "NULL", "null", "<NA>", "#N/A"})
_MISSING_FOLDED = frozenset(token.casefold() for token in MISSING_TOKENS)
#: Accepted values of ``decimal``: ``None`` (infer per cell), ``"."`` or ``","``.
DECIMAL_MARKS = (None, ".", ",")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'\u2019]")
_YEAR = re.compile(r"^\s*((?:19|20)\d\d)(?:\.0)?\s*$")
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
# Number shapes after spaces, apostrophes and a percent sign are removed:
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")      # 1234.5, 1e3
_INTEGER = re.compile(r"^[+-]?\d+([eE][+-]?\d+)?$")                  # 1234
_DECIMAL_COMMA = re.compile(r"^[+-]?(\d+,\d*|,\d+)$")                 # 11,85
_POINT_GROUPS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")        # 1.234.567 and 1.234,5
_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")        # 1,234,567 and 1,234.5
# Spaces or apostrophes between digits separate thousands only before a group of three digits.
_BAD_GROUP = re.compile(r"\d[\s\u00a0\u202f\u2009'\u2019]+(?!\d{3}(?:\D|$))\d")
_LOOK_AHEAD = 60  # rows read below the header row to diagnose where the header really is


#: peak memory of reading a text table, as a multiple of the file's size (measured: 3.6x for 2,000,000
#: rows of region, year and two numbers, the cells held as text before they are parsed)
READ_MEMORY_FACTOR = 4.0
_MEMORY_FIX = ("Fix: keep only the columns you use and the rows you study (filter before reading), aggregate "
               "units to the level of the analysis, or use a machine with more memory. The estimators hold the "
               "panel's rows in memory: ATT(g,t) on 1,000,000 units x 10 years peaks at about 2.2 GiB.")


def available_memory() -> int | None:
    """Bytes a new allocation can take: Linux's MemAvailable, capped by a cgroup (container) limit;
    ``None`` where the system does not say."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            limits += [int(line.split()[1]) * 1024 for line in handle if line.startswith("MemAvailable:")]
    except (OSError, ValueError, IndexError):
        pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit.isdigit():
            limits.append(int(limit) - int((cgroup / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_fits_in_memory(needed: float, what: str, error: type[Exception] = PanelError) -> None:
    """Refuse, before reading, a table whose reading would need more memory than there is."""
    free = available_memory()
    if free is not None and needed > free:
        raise error(f"{what} needs about {needed / 1024**3:.1f} GiB of memory to read; {free / 1024**3:.1f} GiB "
                    f"is available. {_MEMORY_FIX}")


def is_year_label(label: object) -> bool:
    """True for column labels that name a year (``2015``, ``"2015"``, ``2015.0``)."""
    return bool(_YEAR.match(str(label)))


def load_table(source: str | Path, *, sheet: int | str = 0, header_row: int = 0,
               expect: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV/TSV/TXT or XLSX file into a DataFrame of raw cells, header from ``header_row``.

    Cells in :data:`MISSING_TOKENS` are NaN; CSV cells stay text for :func:`parse_numbers`
    (spreadsheet cells keep their spreadsheet type). Duplicate column labels are kept as they
    are (pandas would rename them), so that a wide table with a repeated year column can be
    reported rather than mangled; columns with neither a name nor any cell are left out.
    The index holds the 1-based line (or spreadsheet row) number of each record.

    ``expect`` names columns the caller needs. A header that is not on ``header_row`` (the
    expected column sits on a row below, or title and blank lines come first), and header
    cells left empty above columns that hold data (cells merged across columns, a header
    over two rows) raise :class:`PanelError` with the ``header_row`` to pass.
    """
    path = Path(source)
    if not path.exists():
        raise DataFileError(f"{path}: file does not exist. Check the path (working directory: {Path.cwd()}).")
    if not path.is_file():
        raise DataFileError(f"{path}: is a directory, not a table file. Pass the path of a CSV or XLSX file.")
    check_read_options(sheet=sheet, header_row=header_row)
    missing = sorted(MISSING_TOKENS)
    excel = path.suffix.lower() in _EXCEL_SUFFIXES
    if not excel:  # (a spreadsheet holds at most 1,048,576 rows)
        size = path.stat().st_size
        check_fits_in_memory(READ_MEMORY_FACTOR * size, f"{path} ({size / 1024**3:.2f} GiB)", DataFileError)
    separator = ""
    try:
        if excel:
            raw = pd.read_excel(path, sheet_name=sheet, header=None, na_values=missing, keep_default_na=False)
            grid = _grid(raw.head(header_row + _LOOK_AHEAD).itertuples(index=False))
        else:
            separator, sample = _sniff_separator(path)
            grid = _grid(row for _, row in zip(range(header_row + _LOOK_AHEAD),
                                               csv.reader(io.StringIO(sample), delimiter=separator)))
        _check_header_row(grid, header_row, expect, path)
        if excel:
            header_cells = raw.iloc[header_row] if len(raw) > header_row else pd.Series()
            body = raw.iloc[header_row + 1:]
        else:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                records = csv.reader(handle, delimiter=separator)
                header_cells = pd.Series(next(itertools.islice(records, header_row, None), []), dtype=object)
            body = _read_csv_body(path, separator, header_row, len(header_cells), missing)
    except (DataFileError, PanelError):
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError,
            KeyError, IndexError) as exc:
        raise _unreadable(path, exc, excel=excel, sheet=sheet, separator=separator, header_row=header_row) from exc
    names = [_cell_text(cell) if not pd.isna(cell) else "" for cell in header_cells]
    if not names:
        raise DataFileError(f"{path}: not a table (no header row {header_row + 1}). "
                            "Expected a header row with a region column and at least one more column.")
    body = body.copy()
    body.columns = range(len(names))
    holds_data = body.notna().any(axis=0).to_numpy() if len(names) else np.zeros(0, dtype=bool)
    unnamed = [i for i, name in enumerate(names) if not name and holds_data[i]]
    if unnamed:
        _check_unnamed_columns(path, grid, header_row, names, unnamed, sheet if excel else None)
    keep = [i for i, name in enumerate(names) if name or holds_data[i]]  # empty, unnamed: left-over cells
    if len(keep) < 2:
        raise DataFileError(
            f"{path}: not a table (found {len(keep)} column(s) in header row {header_row + 1}). "
            "Expected a header row with a region column and at least one more column."
        )
    body = body.iloc[:, keep]
    body.columns = [names[i] for i in keep]
    body.index = pd.RangeIndex(header_row + 2, header_row + 2 + len(body), name="row")
    return body


def check_read_options(*, sheet: object = 0, header_row: object = 0, decimal: object = None) -> None:
    """Raise :class:`SpecificationError` for a ``sheet``, ``header_row`` or ``decimal`` of the wrong type."""
    if isinstance(header_row, bool) or not isinstance(header_row, (int, np.integer)) or header_row < 0:
        raise SpecificationError(f"header_row={header_row!r}: give the 0-based row number of the header "
                                 "(0 for the first row).")
    if isinstance(sheet, bool) or not isinstance(sheet, (str, int, np.integer)) \
            or (not isinstance(sheet, str) and sheet < 0):
        raise SpecificationError(f"sheet={sheet!r}: give the sheet's name or its 0-based position (0: the first).")
    if decimal not in DECIMAL_MARKS or isinstance(decimal, bool):
        raise SpecificationError(f"decimal={decimal!r}: use '.' (1,234.5), ',' (1 234,5) or None "
                                 "(each cell by its shape: a single comma is a decimal comma).")


def _read_csv_body(path: Path, separator: str, header_row: int, width: int, missing: list[str]) -> pd.DataFrame:
    """The records below the header as text, ``width`` columns; a record with more cells is an error.

    pandas would read a first record longer than the header as an index column (shifting every
    cell one column left) or drop the extra cells; both corrupt the table silently.
    """
    options = dict(sep=separator, header=None, encoding="utf-8-sig", engine="c", dtype=str, index_col=False,
                   na_values=missing, keep_default_na=False, skip_blank_lines=False, skipinitialspace=True,
                   skiprows=header_row + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, names=range(width), **options)
    except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
        if isinstance(exc, pd.errors.ParserError) and "Expected" not in str(exc):
            raise
    longest = width  # longer records are fine when the extra cells are empty (trailing separators)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, record in enumerate(csv.reader(handle, delimiter=separator), start=1):
            if number <= header_row + 1 or len(record) <= width:
                continue
            if any(cell.strip() not in MISSING_TOKENS for cell in record[width:]):
                hint = (" A decimal comma in a comma-separated file does this (11,85 is read as two cells): quote "
                        "such values or save the file with ';' as separator." if separator == "," else "")
                shown = separator.join(record)
                raise DataFileError(
                    f"{path}: line {number} has {len(record)} cells but the header (row {header_row + 1}) has "
                    f"{width}: {shown[:80] + ('...' if len(shown) > 80 else '')!r}. A value holds the separator "
                    f"{separator!r}, or the header lacks names for some columns.{hint} Fix: correct that line, "
                    "or give every column a name in the header.")
            longest = max(longest, len(record))
    return pd.read_csv(path, names=range(longest), **options).iloc[:, :width]


def _unreadable(path: Path, exc: Exception, *, excel: bool, sheet: int | str, separator: str,
                header_row: int) -> DataFileError:
    if excel and isinstance(exc, (ValueError, IndexError, KeyError)):
        try:
            sheets = pd.ExcelFile(path).sheet_names
        except Exception:  # not a spreadsheet at all: the generic message below
            sheets = None
        if sheets is not None and not (sheet in sheets or (isinstance(sheet, int) and sheet < len(sheets))):
            return DataFileError(f"{path}: no sheet {sheet!r}; its sheets are {sheets}. "
                                 "Fix: pass sheet='<name>' or its 0-based position.")
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if fields:
        expected, line, saw = (int(n) for n in fields.groups())
        hint = (" A decimal comma in a comma-separated file does this (11,85 is read as two cells): quote such "
                "values or save the file with ';' as separator." if separator == "," else "")
        return DataFileError(
            f"{path}: line {line} has {saw} cells but the header (row {header_row + 1}) has {expected}: a value "
            f"holds the separator {separator!r}, or the header lacks names for some columns.{hint} "
            "Fix: correct that line, or give every column a name in the header.")
    return DataFileError(
        f"{path}: not a readable table ({type(exc).__name__}: {exc}). "
        "kzcausal reads CSV/TSV/TXT (UTF-8) and XLSX files; export the table in one of those formats."
    )


def _sniff_separator(path: Path) -> tuple[str, str]:
    """The separator of a text table and the first 64,000 characters (to diagnose the header)."""
    with path.open("rb") as handle:
        if b"\x00" in handle.read(8192):
            raise DataFileError(f"{path}: binary file, not a table. Pass a CSV/TSV/TXT or XLSX file.")
    try:
        with path.open(encoding="utf-8-sig") as handle:
            sample = handle.read(64_000)
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not a UTF-8 text table ({exc}). Save it as UTF-8 CSV or as XLSX."
        ) from exc
    if not sample.strip():
        raise DataFileError(f"{path}: empty file. Pass a table with a header row.")
    return _pick_separator(sample.splitlines()[:50]), sample


def _pick_separator(lines: list[str]) -> str:
    """The separator that splits the most lines of the lower half into one number of cells (ties: more cells).

    csv.Sniffer is misled by title lines and by decimal commas in a ';'-separated file (a title
    with a comma and ``1,5`` in every row make ',' look regular); counting whole rows is not.
    One-column files get ',': the caller then reports "not a table".
    """
    lines = [line for line in lines if line.strip()]
    bottom = len(lines) // 2  # titles sit at the top: the rows below them count first
    best, best_score = ",", (0, 0, 0, 0)
    for rank, delimiter in enumerate(("\t", ";", ",", "|")):
        counts = [len(record) for record in csv.reader(lines, delimiter=delimiter)]
        if max(counts, default=0) < 2:
            continue
        modal = max({n for n in counts if n >= 2}, key=lambda n: (counts[bottom:].count(n), n))
        score = (counts[bottom:].count(modal), modal, counts.count(modal), -rank)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _grid(rows) -> list[list[str]]:
    """Rows of cells as stripped text ('' for missing cells), to look for the header."""
    return [["" if _is_missing_cell(cell) else _cell_text(cell) for cell in row] for row in rows]


def _cell_text(cell: object) -> str:
    """A header cell as text; a spreadsheet's 2020.0 (a float column) is the label '2020'."""
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        return str(int(cell))
    return str(cell).strip()


def _is_missing_cell(cell: object) -> bool:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return True
    return str(cell).strip() in MISSING_TOKENS


def _width(row: list[str]) -> int:
    return max((i + 1 for i, cell in enumerate(row) if cell), default=0)


def _is_name(cell: str) -> bool:
    """A header-like cell: text that is not a number, or a year label."""
    if not cell or cell in MISSING_TOKENS:
        return False
    return is_year_label(cell) or not re.fullmatch(r"[+\-−]?[\d\s.,'\u2019\u00a0]*\d[\d\s.,'\u2019\u00a0]*%?", cell)


def _looks_like_header(row: list[str]) -> bool:
    width = _width(row)
    return width >= 2 and all(_is_name(cell) for cell in row[:width])


def _title_rows_above(grid: list[list[str]], header_row: int) -> int | None:
    """The row of the real header when ``header_row`` and the rows after it are a title or blank lines.

    The real header is the widest header-like row (names or year labels in every cell) before the
    first row of data; every row above it must be narrower or hold at most one cell.
    """
    best = None
    for k in range(header_row + 1, min(len(grid), header_row + 31)):
        if _looks_like_header(grid[k]):
            if best is None or _width(grid[k]) > _width(grid[best]):
                best = k
        elif sum(map(bool, grid[k])) >= 2:
            break  # a row of data
    if best is None:
        return None
    width = _width(grid[best])
    narrow = all(sum(map(bool, row)) <= 1 or _width(row) < width for row in grid[header_row:best])
    return best if narrow else None


def _check_header_row(grid: list[list[str]], header_row: int, expect: Sequence[str], where: Path) -> None:
    header = grid[header_row] if header_row < len(grid) else []
    absent = [name for name in expect if str(name).strip() not in header]
    if absent:
        wanted = str(absent[0]).strip().lower()
        for k in range(header_row + 1, min(len(grid), header_row + 21)):
            if any(cell.lower() == wanted for cell in grid[k]):
                raise PanelError(
                    f"{where}: header not on row {header_row + 1}: column {absent[0]!r} is on row {k + 1} "
                    f"(above it: {_describe_rows(grid, header_row, k)}). Fix: pass header_row={k} (0-based), or "
                    "remove the rows above the header.")
    k = _title_rows_above(grid, header_row)
    if k is not None:
        cells = [cell for cell in grid[k] if cell]
        shown = ", ".join(cells[:6]) + (", ..." if len(cells) > 6 else "")
        rows = f"rows {header_row + 1}-{k} are" if k > header_row + 1 else f"row {header_row + 1} is"
        raise PanelError(
            f"{where}: header not on row {header_row + 1}: {rows} a title, blank or a partial header ("
            f"{_describe_rows(grid, header_row, k)}), and the header ({shown}) is on row {k + 1}. "
            f"Fix: pass header_row={k} (0-based), or delete the lines above the header.")


def _describe_rows(grid: list[list[str]], first: int, stop: int) -> str:
    """Rows ``first`` to ``stop - 1`` (0-based) in words: ``row 1 'Table 1. GRP', row 2 blank``."""
    parts = []
    for i in range(first, stop):
        cells = [cell for cell in grid[i] if cell]
        text = ", ".join(cells)
        text = repr(text[:60] + ("..." if len(text) > 60 else ""))
        if len(cells) >= 2 and stop < len(grid) and len(cells) < _width(grid[stop]):
            text = f"{text} ({len(cells)} of {_width(grid[stop])} cells)"
        parts.append(f"row {i + 1} {text}" if cells else f"row {i + 1} blank")
    if len(parts) > 4:
        parts = parts[:3] + [f"... {len(parts) - 3} more"]
    return ", ".join(parts)


def _check_unnamed_columns(path: Path, grid: list[list[str]], header_row: int, names: list[str],
                           unnamed: list[int], sheet: int | str | None) -> None:
    """Columns with data but no name: merged header cells or a header over two rows are an error."""
    merged = _merged_header_cells(path, sheet, header_row, unnamed) if sheet is not None else []
    below = grid[header_row + 1] if header_row + 1 < len(grid) else []
    below_names = [below[i] if i < len(below) and _is_name(below[i]) else "" for i in unnamed]
    header_below = all(below_names) and all(_is_name(cell) for cell in below if cell)  # no data in it
    if not merged and not header_below:
        return  # e.g. an unnamed index column written by DataFrame.to_csv: kept, named ''
    excel = sheet is not None
    counted = "" if excel else " (counting from 1)"
    which = ", ".join(_column_label(i, excel) for i in unnamed[:8]) + (" ..." if len(unnamed) > 8 else "") + counted
    message = f"{path}: header row {header_row + 1} gives no name to column(s) {which}, which hold data"
    if merged:
        message += (f": the merged cell(s) {', '.join(merged)} span them, and a merged cell names only its first "
                    "column")
    message += "."
    fixes = ["give every column its own name in one header row (unmerge the cells and type a name in each)"]
    if header_below:
        shown = ", ".join(repr(n) for n in below_names[:6]) + (", ..." if len(below_names) > 6 else "")
        message += f" Row {header_row + 2} names them ({shown}): the header spans two rows."
        lost = [i for i, name in enumerate(names) if name and (i >= len(below) or not _is_name(below[i]))]
        typed = ", ".join(f"{_column_label(i, excel)} ({names[i]!r})" for i in lost[:5])
        also = f" after typing the name(s) of column(s) {typed} into row {header_row + 2}" if lost else ""
        fixes.append(f"pass header_row={header_row + 1} (0-based) to read row {header_row + 2} as the header{also}")
    raise PanelError(f"{message} Fix: {', or '.join(fixes)}.")


def _column_label(index: int, excel: bool) -> str:
    if not excel:
        return str(index + 1)
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _merged_header_cells(path: Path, sheet: int | str, header_row: int, columns: list[int]) -> list[str]:
    """Merged ranges (``'B1:D1 ('GRP')'``) on the header row that cover any of ``columns`` (0-based)."""
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        return []
    try:
        import openpyxl

        book = openpyxl.load_workbook(path)
        sheet_ = book[sheet] if isinstance(sheet, str) else book.worksheets[int(sheet)]
    except Exception:  # the cells' names are still reported without the ranges
        return []
    found = []
    for cells in sheet_.merged_cells.ranges:
        spans_row = cells.min_row <= header_row + 1 <= cells.max_row
        if spans_row and cells.max_col > cells.min_col and any(cells.min_col <= c + 1 <= cells.max_col
                                                               for c in columns):
            value = sheet_.cell(cells.min_row, cells.min_col).value
            found.append(f"{cells.coord} ({value!r})" if value is not None else cells.coord)
    return found


def percent_cells(values: pd.Series) -> int:
    """The number of text cells with a percent sign (``12%``), which :func:`parse_numbers` reads as 12."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return 0
    text = values[values.notna()].astype(str)
    return int(text.str.contains("%", regex=False).sum())


def parse_numbers(values: pd.Series, column: str, *, decimal: str | None = None,
                  booleans: bool = True) -> np.ndarray:
    """Parse a column of cells to float: decimal commas, thousands separators, dashes for missing.

    With ``decimal=None`` a cell that could be read either way (``1.234``, ``12,000``: one mark before three
    digits) takes the decimal mark the other cells of its column show (``1.5`` in the column: ``12,000`` is
    12000); a column whose cells show both marks beside such a cell is refused. Otherwise each cell is read
    by its shape: a single comma is a decimal comma
    (``11,85`` -> 11.85), as in BNS and Russian-language tables; a single point is a decimal
    point; a separator repeated between groups of three digits separates thousands
    (``1.234.567``, ``1,234,567``); when both occur, the last one is the decimal mark
    (``1,234.5`` and ``1.234,5`` are both 1234.5). ``decimal="."`` or ``","`` names the
    decimal mark, so the other one only separates thousands (``1,234`` is 1234 with
    ``decimal="."``). Spaces and apostrophes between digits (``1 234``, ``1'234``) are
    dropped; a percent sign is dropped (``12%`` is 12, in percent). Cells in
    :data:`MISSING_TOKENS` (in any letter case) become NaN. Any other text, and ``True``/``False``
    when ``booleans=False``, raises :class:`PanelError` naming the column and rows.
    """
    check_read_options(decimal=decimal)
    if pd.api.types.is_bool_dtype(values.dtype):
        if not booleans:
            _raise_booleans(values, values.notna().to_numpy(), column)
        return values.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    if not booleans:
        flags = values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        if flags.any():
            _raise_booleans(values, flags, column)
    column_mark = _column_decimal(values, column) if decimal is None else None
    # Fast path: plain numbers parse in C; only the cells that fail need the slow rules.
    parsed = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    present = values.notna().to_numpy()
    if decimal == ",":  # the text '1.234' is a thousand with decimal=',', not what to_numeric says
        parsed[values.map(lambda v: isinstance(v, str) and "." in v).to_numpy(dtype=bool)] = np.nan
    failed = np.isnan(parsed) & present
    if not failed.any():
        return parsed
    text = values[failed].astype(str).str.strip()
    missing = text.str.casefold().isin(_MISSING_FOLDED).to_numpy()
    cleaned = (text.str.replace(_SPACES, "", regex=True).str.replace("−", "-", regex=False)
               .str.replace(r"^([+-]?)%|%$", r"\1", regex=True))
    retry = np.array([_parse_cell(cell, decimal) for cell in cleaned], dtype=float)
    bad = (np.isnan(retry) & ~missing) | text.str.contains(_BAD_GROUP).to_numpy()
    if bad.any():
        offenders = pd.DataFrame({column: text[bad].to_numpy()}, index=text.index[bad])
        mark = ("" if decimal is None else
                f"\nNumbers are read with decimal={decimal!r}: the other mark may only separate thousands "
                f"(groups of three digits). Pass decimal=None to read each cell by its shape.")
        raise PanelError(
            f"column {column!r}: {int(bad.sum())} cell(s) are not numbers:\n{show_rows(offenders)}{mark}\n"
            f"Fix: correct those cells, or mark missing values with '-' or leave them empty."
        )
    retry[missing] = np.nan
    parsed[failed] = retry
    return _read_ambiguous(values, parsed, column_mark)


def _read_ambiguous(values: pd.Series, parsed: np.ndarray, mark: str | None) -> np.ndarray:
    """Cells such as ``1.234`` or ``12,000`` read with the decimal mark the rest of their column shows."""
    if mark is None:
        return parsed
    cells = values.map(lambda v: v.strip() if isinstance(v, str) else "")
    ambiguous = cells.str.match(_AMBIGUOUS).to_numpy(dtype=bool)
    if ambiguous.any():
        text = cells[ambiguous].str.rstrip("%")
        thousands = "." if mark == "," else ","
        fixed = text.str.replace(thousands, "", regex=False).str.replace(mark, ".", regex=False)
        parsed = parsed.copy()
        parsed[ambiguous] = pd.to_numeric(fixed, errors="coerce").to_numpy(dtype=float)
    return parsed


_AMBIGUOUS = re.compile(r"^[+-]?\d{1,3}[.,]\d{3}%?$")  # 1.234 or 12,000: a thousands group or a decimal mark


def _column_decimal(values: pd.Series, column: str) -> str | None:
    """The decimal mark a column's text cells show, for its cells that show none (``1.234``, ``12,000``).

    A cell with both marks shows the last as decimal (``1,234.5``); a mark repeated between groups of three
    digits is a thousands separator (``1.234.567``), so the other is decimal; one mark not followed by
    exactly three digits is decimal (``1,5``, ``0.15``). ``1.234`` and ``12,000`` alone show nothing.
    None when the column has no such cell or no cell shows a mark (each cell is then read by its shape); a
    column with such cells whose other cells show both marks is refused, naming an example of each."""
    text = values[values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)]
    if text.empty:
        return None
    cells = pd.Series(pd.unique(text.str.replace(_SPACES, "", regex=True).str.strip()), dtype=object)
    cells = cells[cells.str.contains(r"[.,]", regex=True)]
    ambiguous = cells.str.match(_AMBIGUOUS)
    if not ambiguous.any():
        return None  # every cell shows how to read it
    dot, comma = cells.str.contains(".", regex=False), cells.str.contains(",", regex=False)
    last_comma = cells.str.rfind(",") > cells.str.rfind(".")
    comma_decimal = (dot & comma & last_comma) | (cells.str.count(r"\.") > 1) | (comma & ~dot & ~ambiguous
                                                                             & (cells.str.count(",") == 1))
    point_decimal = (dot & comma & ~last_comma) | (cells.str.count(",") > 1) | (dot & ~comma & ~ambiguous
                                                                            & (cells.str.count(r"\.") == 1))
    if comma_decimal.any() and point_decimal.any():
        example = cells[ambiguous].iloc[0]
        raise PanelError(f"column {column!r} mixes decimal marks: {cells[comma_decimal].iloc[0]!r} has a decimal "
                         f"comma and {cells[point_decimal].iloc[0]!r} a decimal point, so {example!r} could be read "
                         "either way. Fix: pass decimal=',' or decimal='.' to say which, or correct the cells.")
    return "," if comma_decimal.any() else "." if point_decimal.any() else None


def _parse_cell(cell: str, decimal: str | None) -> float:
    """One cleaned cell (no spaces, no percent sign) to float; NaN when it is not a number."""
    if decimal != "," and _PLAIN.match(cell):
        return float(cell)
    if decimal != "." and (_DECIMAL_COMMA.match(cell) or (decimal == "," and _INTEGER.match(cell))):
        return float(cell.replace(",", "."))
    if decimal != "." and _POINT_GROUPS.match(cell):
        return float(cell.replace(".", "").replace(",", "."))
    if decimal != "," and _COMMA_GROUPS.match(cell):
        return float(cell.replace(",", ""))
    if cell.lstrip("+-").casefold() in ("inf", "infinity"):
        return float(cell.casefold().replace("infinity", "inf"))
    return np.nan


def _raise_booleans(values: pd.Series, flags: np.ndarray, column: str) -> None:
    offenders = pd.DataFrame({column: values[flags].to_numpy()}, index=values.index[flags])
    raise PanelError(f"column {column!r}: {int(flags.sum())} cell(s) are True/False, not counts:\n"
                     f"{show_rows(offenders)}\nFix: put the numbers in this column (a yes/no flag belongs in a "
                     "column of its own).")
