"""Tables auditors take away: the same rows as CSV (UTF-8 with BOM, so Excel in China opens it) or Excel.

Text comes from users and diagrams (a process name, a customer, submitted form data), so a cell that a
spreadsheet would read as a formula (it begins with = + - @, a tab or a carriage return) is written with a
leading single quote, as OWASP recommends against CSV injection (in both formats: openpyxl would store
Excel text beginning with = as a formula)."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from flask import Response
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

FORMATS = ("csv", "xlsx")
# What a spreadsheet takes as the start of a formula (or DDE call) when a cell begins with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """`text` as a spreadsheet shows it but never evaluates it: a leading quote before a formula start."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        return neutralised(value)
    return value


def table_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str,
                   sheet_title: str = "Sheet1") -> Response:
    """A download of one table; `fmt` is "csv" or "xlsx" (anything else is a ValueError for the caller)."""
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow([_cell(h) for h in headers])
        for row in rows:
            writer.writerow(["" if v is None else _cell(v) for v in row])
        data, mimetype = out.getvalue().encode("utf-8"), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = sheet_title[:31]
        sheet.append([_cell(h) for h in headers])
        for row in rows:
            sheet.append([_cell(v) for v in row])
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, min(60, len(str(header)) * 2 + 4))
        sheet.freeze_panes = "A2"
        out_bytes = io.BytesIO()
        book.save(out_bytes)
        data = out_bytes.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}.{fmt}"
    return response
