"""Ad hoc exports: filtering fulfillments, and one Excel table with the workbook's rules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from okc_recon.errors import ConfigError, ExportError
from okc_recon.export import export_excel, filter_fulfillments
from okc_recon.money import MONEY
from okc_recon.schema import FULFILLMENT_SCHEMA, conform


def _frame() -> pl.DataFrame:
    def at(day: int | None, month: int = 10) -> datetime | None:
        return None if day is None else datetime(2025, month, day, 23, 30, tzinfo=UTC)

    rows = {
        "fulfillment_id": ["f1", "f2", "f3", "f4", "f5"],
        "order_id": ["00042", "00042", "o3", "o4", "o5"],
        "carrier": ["ups", "ups", "fedex", "usps", "ups"],
        "tracking_number": ["1Z999AA10123456784", "1Z999AA10123456785", "0794644790148", None, "x"],
        "shipping_net_charge": [Decimal("12.50"), Decimal("0.10"), None, Decimal("7"), None],
        "order_line_names": ['=HYPERLINK("http://evil")', "+1", "@SUM(A1)", "plain", None],
        "pickup_date": [at(1), at(15), at(15), at(30, 9), None],
        "created_at": [at(1), at(14), at(14), at(29, 9), at(2)],
    }
    return conform(
        pl.DataFrame(rows).with_columns(pl.col("shipping_net_charge").cast(MONEY)),
        FULFILLMENT_SCHEMA,
    )


def _ids(frame: pl.DataFrame) -> list[str]:
    return frame["fulfillment_id"].to_list()


def test_filters_combine() -> None:
    frame = _frame()
    assert _ids(filter_fulfillments(frame)) == _ids(frame)
    assert _ids(filter_fulfillments(frame, carrier="UPS")) == ["f1", "f2", "f5"]
    assert _ids(filter_fulfillments(frame, carrier=["fedex", "usps"])) == ["f3", "f4"]
    assert _ids(filter_fulfillments(frame, order_id="00042")) == ["f1", "f2"]
    # inclusive UTC dates; a row without the date is outside any range
    assert _ids(filter_fulfillments(frame, start="2025-10-01", end="2025-10-15")) == [
        "f1",
        "f2",
        "f3",
    ]
    assert _ids(filter_fulfillments(frame, end=date(2025, 9, 30))) == ["f4"]
    assert _ids(filter_fulfillments(frame, carrier="ups", start="2025-10-02")) == ["f2"]
    assert _ids(
        filter_fulfillments(frame, start="2025-10-02", end="2025-10-02", date_field="created_at")
    ) == ["f5"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"carrier": "royal_mail"}, "unknown carrier"),
        ({"start": "10/01/2025"}, "YYYY-MM-DD"),
        ({"start": "2025-10-15", "end": "2025-10-01"}, "empty"),
        ({"date_field": "shipped"}, "date_field"),
    ],
)
def test_bad_filters_say_why(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        filter_fulfillments(_frame(), **options)  # type: ignore[arg-type]


def test_the_export_is_a_safe_excel_table(tmp_path: Path) -> None:
    frame = _frame()
    path = export_excel(frame, tmp_path / "sub" / "ups.xlsx", about={"carrier": "ups"})
    assert path == tmp_path / "sub" / "ups.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["Fulfillments", "Export info"]
    ws = wb["Fulfillments"]
    header = [c.value for c in ws[1]]
    assert header[: len(FULFILLMENT_SCHEMA)] == list(FULFILLMENT_SCHEMA)
    assert list(ws.tables) == ["tblFulfillments"]
    assert ws.freeze_panes == "A2"
    column = {name: i for i, name in enumerate(header)}
    rows = [list(row) for row in ws.iter_rows(min_row=2)]
    assert len(rows) == frame.height
    # identifiers are text (leading zeros kept), never numbers
    order = rows[0][column["order_id"]]
    assert (order.value, order.data_type) == ("00042", "s")
    tracking = rows[2][column["tracking_number"]]
    assert (tracking.value, tracking.data_type) == ("0794644790148", "s")
    # text that looks like a formula is text
    for row in rows[:3]:
        cell = row[column["order_line_names"]]
        assert cell.data_type == "s"
        assert cell.value in ('=HYPERLINK("http://evil")', "+1", "@SUM(A1)")
    # money is a number with the money format; dates are dates
    charge = rows[0][column["shipping_net_charge"]]
    assert charge.value == pytest.approx(12.5)
    assert "0.00" in charge.number_format
    assert rows[0][column["pickup_date"]].is_date
    info = dict(list(wb["Export info"].values)[1:])
    assert info["rows"] == "5"
    assert info["carrier"] == "ups"
    assert info["tool"].startswith("okc-recon ")


def test_a_long_export_continues_on_a_second_sheet(tmp_path: Path) -> None:
    path = export_excel(_frame(), tmp_path / "long.xlsx", max_rows=4)
    wb = load_workbook(path, read_only=True)
    try:
        assert wb.sheetnames == ["Fulfillments", "Fulfillments (2)", "Export info"]
        first = list(wb["Fulfillments"].values)
        second = list(wb["Fulfillments (2)"].values)
    finally:
        wb.close()
    assert first[0] == second[0]  # the header again
    assert len(first) - 1 + len(second) - 1 == 5


def test_export_refuses_other_paths_and_objects(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.xlsx"):
        export_excel(_frame(), tmp_path / "out.csv")
    with pytest.raises(ExportError, match="DataFrame"):
        export_excel(_frame().to_pandas(), tmp_path / "out.xlsx")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
