"""The workbook's cell styles, registered with openpyxl so its styles part lists them.

Rendered cells refer to a style by its index in the workbook's cell-format list (``s="3"``);
:class:`Styles` asks openpyxl for those indices once, through ordinary styled cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = ["FORMATS", "Styles"]

#: Number formats by column kind.
FORMATS = {
    "money": '"$"#,##0.00_);[Red]("$"#,##0.00)',
    "int": "0",
    "float": "#,##0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "time": "hh:mm:ss",
    "id": "@",
}


@dataclass(frozen=True)
class Styles:
    """Style indices for every kind of cell the workbook writes."""

    text_quoted: int
    id: int
    id_quoted: int
    money: int
    integer: int
    number: int
    date: int
    datetime: int
    time: int
    link: int
    title: int
    label: int
    note: int

    @classmethod
    def register(cls, sheet: WriteOnlyWorksheet) -> Styles:
        """Register the styles in ``sheet``'s workbook and return their indices."""

        def style(
            *,
            number_format: str | None = None,
            font: Font | None = None,
            quote: bool = False,
            wrap: bool = False,
        ) -> int:
            cell = WriteOnlyCell(sheet)
            if number_format is not None:
                cell.number_format = number_format
            if font is not None:
                cell.font = font
            if quote:
                cell.quotePrefix = True
            if wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            return int(cell.style_id)

        return cls(
            text_quoted=style(quote=True),
            id=style(number_format=FORMATS["id"]),
            id_quoted=style(number_format=FORMATS["id"], quote=True),
            money=style(number_format=FORMATS["money"]),
            integer=style(number_format=FORMATS["int"]),
            number=style(number_format=FORMATS["float"]),
            date=style(number_format=FORMATS["date"]),
            datetime=style(number_format=FORMATS["datetime"]),
            time=style(number_format=FORMATS["time"]),
            link=style(font=Font(color="0563C1", underline="single")),
            title=style(font=Font(bold=True, size=14)),
            label=style(font=Font(bold=True)),
            note=style(font=Font(italic=True, color="595959")),
        )
