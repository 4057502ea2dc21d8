"""Reading the tables econometricians actually have into one raw string table.

BNS exports, tables copied out of papers and users' own CSV/XLSX files arrive with
decimal commas (``11,85``), dashes for missing cells, thousands separated by spaces,
headers on the wrong row and years spread across columns. This module turns any of
them into a ``DataFrame`` of raw cells plus the source row numbers; ``core`` then
validates it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataFileError, PanelError, show_rows

__all__ = ["load_table", "parse_numbers", "is_year_label", "MISSING_TOKENS"]

# Cells that mean "no value" in BNS tables and in papers.
MISSING_TOKENS = frozenset({"", "-", "–", "—", "..", "...", "…", "x", "X", "nan", "NaN", "NA", "n/a"})
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_YEAR = re.compile(r"^\s*((?:19|20)\d\d)(?:\.0)?\s*$")
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}


def is_year_label(label: object) -> bool:
    """True for column labels that name a year (``2015``, ``"2015"``, ``2015.0``)."""
    return bool(_YEAR.match(str(label)))


def load_table(source: str | Path, *, sheet: int | str = 0, header_row: int = 0) -> pd.DataFrame:
    """Read a CSV/TSV/TXT or XLSX file into a DataFrame, header from ``header_row``.

    Cells in :data:`MISSING_TOKENS` are NaN; other columns are typed by the parser
    (numbers stay numbers, text such as ``11,85`` stays text for :func:`parse_numbers`).
    Duplicate column labels are kept as they are (pandas would rename them), so that
    a wide table with a repeated year column can be reported rather than mangled.
    The index holds the 1-based line (or spreadsheet row) number of each record.
    """
    path = Path(source)
    if not path.exists():
        raise DataFileError(f"{path}: file does not exist. Check the path (working directory: {Path.cwd()}).")
    if not path.is_file():
        raise DataFileError(f"{path}: is a directory, not a table file. Pass the path of a CSV or XLSX file.")
    missing = sorted(MISSING_TOKENS)
    try:
        if path.suffix.lower() in _EXCEL_SUFFIXES:
            raw = pd.read_excel(path, sheet_name=sheet, header=None, na_values=missing, keep_default_na=False)
            header_cells = raw.iloc[header_row] if len(raw) > header_row else pd.Series()
            body = raw.iloc[header_row + 1:]
        else:
            separator = _sniff_separator(path)
            options = dict(sep=separator, header=None, encoding="utf-8-sig", engine="c")
            head = pd.read_csv(path, nrows=header_row + 1, dtype=str, keep_default_na=False,
                               skip_blank_lines=False, **options)
            header_cells = head.iloc[header_row] if len(head) > header_row else pd.Series()
            body = pd.read_csv(path, skiprows=header_row + 1, names=range(len(header_cells)), na_values=missing,
                               keep_default_na=False, skip_blank_lines=False, skipinitialspace=True, **options)
    except DataFileError:
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError,
            KeyError) as exc:
        raise DataFileError(
            f"{path}: not a readable table ({type(exc).__name__}: {exc}). "
            "kzcausal reads CSV/TSV/TXT (UTF-8) and XLSX files; export the table in one of those formats."
        ) from exc
    if len(header_cells) < 2:
        raise DataFileError(
            f"{path}: not a table (found {len(header_cells)} column(s) in header row {header_row + 1}). "
            "Expected a header row with a region column and at least one more column."
        )
    body = body.copy()
    body.columns = [str(cell).strip() if not pd.isna(cell) else "" for cell in header_cells]
    body.index = pd.RangeIndex(header_row + 2, header_row + 2 + len(body), name="row")
    return body


def _sniff_separator(path: Path) -> str:
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
    first_lines = "\n".join(sample.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(first_lines, delimiters="\t;,|").delimiter
    except csv.Error:
        # One-column files and irregular text: let the caller report "not a table".
        for delimiter in ("\t", ";", ","):
            if delimiter in first_lines:
                return delimiter
        return ","


def parse_numbers(values: pd.Series, column: str) -> np.ndarray:
    """Parse a column of cells to float: decimal commas, spaces in thousands, dashes for missing.

    A single comma is a decimal comma (``11,85`` -> 11.85), as in BNS and Russian-language
    tables; when both a comma and a point occur, the last one is the decimal mark
    (``1,234.5`` and ``1.234,5`` are both 1234.5). Cells in :data:`MISSING_TOKENS` become NaN. Any other text raises
    :class:`PanelError` naming the column and rows.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    # Fast path: plain numbers parse in C; only the cells that fail need the slow rules.
    parsed = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    failed = np.isnan(parsed) & values.notna().to_numpy()
    if not failed.any():
        return parsed
    text = values[failed].astype(str).str.strip()
    missing = text.isin(MISSING_TOKENS).to_numpy()
    cleaned = text.str.replace(_SPACES, "", regex=True)
    # Both separators in one cell: the last one is the decimal mark ("1,234.5" and "1.234,5" are
    # both 1234.5); the other separates thousands. A single comma is a decimal comma.
    has_point = cleaned.str.contains(".", regex=False)
    comma_last = cleaned.str.rfind(",") > cleaned.str.rfind(".")
    european = has_point & comma_last
    cleaned = cleaned.where(~european, cleaned.str.replace(".", "", regex=False))
    cleaned = cleaned.where(~has_point | european, cleaned.str.replace(",", "", regex=False))
    cleaned = cleaned.str.replace(",", ".", regex=False).str.replace("−", "-", regex=False)
    retry = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
    bad = np.isnan(retry) & ~missing
    if bad.any():
        offenders = pd.DataFrame({column: text[bad].to_numpy()}, index=text.index[bad])
        raise PanelError(
            f"column {column!r}: {int(bad.sum())} cell(s) are not numbers:\n{show_rows(offenders)}\n"
            f"Fix: correct those cells, or mark missing values with '-' or leave them empty."
        )
    retry[missing] = np.nan
    parsed[failed] = retry
    return parsed
