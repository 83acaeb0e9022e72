"""A tiny, independent evaluator for the formulas the Summary writes, over a workbook read back.

It knows Excel's rules for what the workbook uses: ``SUMIFS``, ``COUNTIFS``, ``SUM``,
``COUNTA`` over structured references (``tblShipments[okc_charge]``), cell references for
criteria, ``+`` between terms; text criteria match without case, ``"<>x"`` also matches
blank cells, ``">0"`` compares numbers. Money is summed as Decimal from the cell values.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

_TOKEN = re.compile(
    r"\s*(?:(?P<func>[A-Z]+)\(|(?P<sref>[A-Za-z_][A-Za-z0-9_.]*\[[^\]]+\])"
    r'|(?P<cell>\$?[A-Z]{1,3}\$?\d+)|(?P<str>"(?:[^"]|"")*")|(?P<bool>TRUE|FALSE)'
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>[(),+]))"
)


class Evaluator:
    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self.tables: dict[str, tuple[Worksheet, str]] = {}
        for ws in wb.worksheets:
            for name, table in ws.tables.items():
                ref = table if isinstance(table, str) else table.ref
                self.tables[name] = (ws, ref)

    def column(self, name: str, col: str) -> list[Any]:
        ws, ref = self.tables[name]
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        headers = [ws.cell(min_row, c).value for c in range(min_col, max_col + 1)]
        index = min_col + headers.index(col)
        return [ws.cell(r, index).value for r in range(min_row + 1, max_row + 1)]

    def evaluate(self, ws: Worksheet, formula: str) -> Decimal:
        assert formula.startswith("=")
        tokens = []
        text = formula[1:]
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            assert m, f"cannot parse {text[pos:]!r}"
            kind = m.lastgroup
            assert kind is not None
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        self._tokens, self._pos, self._ws = tokens, 0, ws
        total = self._term()
        while self._pos < len(tokens):
            assert tokens[self._pos] == ("op", "+"), tokens[self._pos]
            self._pos += 1
            total += self._term()
        return total

    def _next(self) -> tuple[str, str]:
        token = self._tokens[self._pos]
        self._pos += 1
        return token

    def _term(self) -> Decimal:
        kind, func = self._next()
        assert kind == "func", (kind, func)
        args: list[Any] = []
        while True:
            kind, value = self._next()
            if (kind, value) == ("op", ")"):
                break
            if (kind, value) == ("op", ","):
                continue
            args.append(self._operand(kind, value))
        return self._call(func, args)

    def _operand(self, kind: str, value: str) -> Any:
        if kind == "sref":
            name, col = value[:-1].split("[", 1)
            return self.column(name, col)
        if kind == "cell":
            return self._ws[value.replace("$", "")].value
        if kind == "str":
            return value[1:-1].replace('""', '"')
        if kind == "bool":
            return value == "TRUE"
        if kind == "num":
            return Decimal(value)
        raise AssertionError(f"unexpected {kind} {value}")

    def _call(self, func: str, args: list[Any]) -> Decimal:
        if func == "SUM":
            return sum((_number(v) for v in args[0]), Decimal(0))
        if func == "COUNTA":
            return Decimal(sum(v is not None and v != "" for v in args[0]))
        if func == "SUMIFS":
            values, pairs = args[0], args[1:]
        elif func == "COUNTIFS":
            values, pairs = None, args
        else:
            raise AssertionError(f"unexpected function {func}")
        ranges = pairs[0::2]
        criteria = pairs[1::2]
        n = len(ranges[0])
        selected = [
            all(_matches(r[i], c) for r, c in zip(ranges, criteria, strict=True)) for i in range(n)
        ]
        if values is None:
            return Decimal(sum(selected))
        return sum((_number(v) for v, s in zip(values, selected, strict=True) if s), Decimal(0))


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return Decimal(0)  # SUM and SUMIFS skip text and blanks
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _matches(cell: Any, criterion: Any) -> bool:
    if isinstance(criterion, bool):
        return isinstance(cell, bool) and cell == criterion
    if isinstance(criterion, Decimal):
        return (
            not isinstance(cell, bool)
            and isinstance(cell, int | float)
            and _number(cell) == criterion
        )
    text = str(criterion)
    for op in ("<>", ">=", "<=", ">", "<", "="):
        if text.startswith(op):
            operand = text[len(op) :]
            break
    else:
        op, operand = "=", text
    blank = cell is None or cell == ""
    if op in (">", "<", ">=", "<="):
        if blank or isinstance(cell, bool) or not isinstance(cell, int | float):
            return False
        x, y = _number(cell), Decimal(operand)
        return {">": x > y, "<": x < y, ">=": x >= y, "<=": x <= y}[op]
    if operand == "":
        equal = blank
    elif blank:
        equal = False
    else:
        equal = str(cell).lower() == operand.lower()
    return equal if op == "=" else not equal
