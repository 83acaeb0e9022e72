"""The reconciliation workbook: what an analyst hands to a controller or a claims clerk.

    >>> from okc_recon.excel import write_workbook
    >>> write_workbook(recon, "out/2024-01.xlsx", checks=report, run_info=info)

See :func:`write_workbook`. openpyxl builds the workbook (write-only mode); the rows of the
data sheets are rendered by Polars and streamed into it (:mod:`okc_recon.excel._package`).
"""

from __future__ import annotations

from okc_recon.excel._layout import EXCEL_MAX_ROWS
from okc_recon.excel._workbook import EXCEPTION_COLUMNS, SHEETS, write_workbook

__all__ = ["EXCEL_MAX_ROWS", "EXCEPTION_COLUMNS", "SHEETS", "write_workbook"]
