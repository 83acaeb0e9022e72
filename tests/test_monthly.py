"""The monthly run: periods, the sandbox decision, selections, the invoice window, a whole
sample month against the sandbox (its answer key, its outputs) and its reproduction from a
snapshot of the local cache."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from okc_recon.config import ENV_VARS, Secret, Settings
from okc_recon.errors import ConfigError, PullError, StoreError
from okc_recon.monthly import (
    PARQUET_FRAMES,
    SANDBOX_BANNER,
    MonthlyRun,
    Period,
    run_month,
    sample_data_dir,
    select_period,
    select_rejected,
)
from okc_recon.reconciliation import Rules
from okc_recon.runinfo import RunInfo
from okc_recon.sandbox import SAMPLE_MONTH, Faults, GeneratorConfig, Sandbox, generate
from okc_recon.schema import UTC_DATETIME
from okc_recon.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OKC_PROGRESS", "0")
    monkeypatch.chdir(tmp_path)  # no stray .env


# -- periods and decisions (no network) ---------------------------------------------------------


def test_period_windows() -> None:
    october = Period.of("2025-10")
    assert (october.first, october.last) == (date(2025, 10, 1), date(2025, 10, 31))
    assert october.pull_from == date(2025, 9, 1)
    assert october.invoices_to == date(2025, 12, 15)  # 45 days after the end
    assert october.previous_month == "2025-09"
    january = Period.of(" 2024-01 ", grace_days=10)
    assert january.month == "2024-01"
    assert january.pull_from == date(2023, 12, 1)
    assert january.invoices_to == date(2024, 2, 10)
    assert Period.of("2024-02", grace_days=0).invoices_to == date(2024, 2, 29)


@pytest.mark.parametrize("month", ["2025-13", "2025-00", "2025-1", "october", "", "2025-10-01"])
def test_a_month_must_be_yyyy_mm(month: str) -> None:
    with pytest.raises(ConfigError, match="YYYY-MM"):
        Period.of(month)


def test_no_credentials_and_no_sandbox_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"OKC_ACCESS_TOKEN.*OKC_USERNAME and OKC_PASSWORD"):
        MonthlyRun.prepare("2025-10", invoices=SAMPLE / "invoices", sandbox=False)


def test_no_credentials_means_the_sandbox_said_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        run = MonthlyRun.prepare("2025-10", invoices=SAMPLE / "invoices")
    assert run.sandbox
    assert any(SANDBOX_BANNER in r.getMessage() for r in caplog.records)
    assert "SANDBOX" in repr(run)
    assert "LOCAL OKC SANDBOX" in run._repr_html_()
    assert run.period.month == "2025-10"
    assert run.as_of == date(2025, 12, 15)  # today is later: the end of the invoice window


def test_credentials_mean_okc_and_never_show() -> None:
    settings = Settings(base_url="https://okc.test", access_token=Secret("tok-123-secret"))
    run = MonthlyRun.prepare("2025-10", invoices=SAMPLE / "invoices", settings=settings)
    assert not run.sandbox
    shown = repr(run) + run._repr_html_() + str(run.status())
    assert "SANDBOX" not in shown
    assert "https://okc.test" in shown
    assert "tok-123-secret" not in shown
    with pytest.raises(ConfigError, match="no OKC credentials"):
        MonthlyRun.prepare(
            "2025-10", invoices=SAMPLE / "invoices", settings=Settings(), sandbox=False
        )


def test_prepare_checks_its_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        MonthlyRun.prepare("2025-10", invoices=tmp_path / "nowhere", sandbox=True)
    with pytest.raises(ConfigError, match="which month"):
        MonthlyRun.prepare(sandbox=True)
    with pytest.raises(ConfigError, match="as_of"):
        MonthlyRun.prepare("2025-10", sandbox=True, as_of="15/12/2025")
    run = MonthlyRun.prepare("2025-10", sandbox=False, settings=_token_settings())
    with pytest.raises(ConfigError, match="no invoices"):
        run.read_invoices()


def test_as_of_and_grace_days_options() -> None:
    run = MonthlyRun.prepare("2025-10", sandbox=True, as_of="2025-11-20", grace_days=10)
    assert run.as_of == date(2025, 11, 20)
    assert run.period.invoices_to == date(2025, 11, 10)
    assert run.rules.invoice_grace_days == 10
    future = MonthlyRun.prepare("2999-01", sandbox=True)
    assert future.as_of == datetime.now(UTC).date()  # the window has not ended yet


def test_rules_from_a_file_and_the_weight_unit_setting(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('markup = "0.10"\ninvoice_grace_days = 30\n')
    settings = _token_settings().replace(weight_unit="oz")
    run = MonthlyRun.prepare(
        "2025-10", invoices=SAMPLE / "invoices", settings=settings, rules=rules
    )
    assert str(run.rules.markup) == "0.10"
    assert run.rules.weight_unit == "oz"  # OKC_WEIGHT_UNIT fills an "auto" rule
    assert run.period.invoices_to == date(2025, 11, 30)


def _token_settings() -> Settings:
    return Settings(base_url="https://okc.test", access_token=Secret("t"))


# -- selections -----------------------------------------------------------------------------


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_period_is_picked_up_else_created_in_utc() -> None:
    rows = [  # id, pickup, created, selected for 2025-10
        ("first-second", "2025-09-01T00:00:00", "2025-08-20T00:00:00", True),
        ("before", "2025-08-31T23:59:59", "2025-08-30T00:00:00", False),
        ("last-second", "2025-10-31T23:59:59", "2025-10-30T00:00:00", True),
        ("after", "2025-11-01T00:00:00", "2025-10-31T00:00:00", False),  # pickup decides
        ("never-shipped", None, "2025-10-05T00:00:00", True),
        ("never-shipped-early", None, "2025-08-05T00:00:00", False),
        ("no-dates", None, None, False),
    ]
    frame = pl.DataFrame(
        {
            "fulfillment_id": [r[0] for r in rows],
            "pickup_date": pl.Series([_utc(r[1]) for r in rows], dtype=UTC_DATETIME),
            "created_at": pl.Series([_utc(r[2]) for r in rows], dtype=UTC_DATETIME),
        }
    )
    selected = select_period(frame, Period.of("2025-10"))
    assert selected["fulfillment_id"].to_list() == [r[0] for r in rows if r[3]]


def test_rejected_records_of_the_period_are_kept_and_undatable_ones_never_vanish() -> None:
    raws = {
        "september": '{"id": "a", "pickup_date": "2025-09-31T10:00:00Z"}',
        "july": '{"id": "b", "pickup_date": "2025-07-32T21:05:00.000Z"}',
        "created-october": '{"id": "c", "created_at": "2025-10-02T10:00:00Z"}',
        "no-dates": '{"id": null, "shipping_net_charge": "N/A"}',
        "not-json": "[1, 2",
    }
    rejected = pl.DataFrame(
        {"fulfillment_id": list(raws), "order_id": None, "reason": "x", "raw": list(raws.values())}
    )
    kept = select_rejected(rejected, Period.of("2025-10"))
    assert kept["fulfillment_id"].to_list() == [
        "september",
        "created-october",
        "no-dates",
        "not-json",
    ]


def test_the_invoice_window_is_per_invoice_and_accounts_for_every_line() -> None:
    run = MonthlyRun.prepare("2025-10", invoices=SAMPLE / "invoices", sandbox=True, grace_days=0)
    window = run.read_invoices()
    assert run.invoices is window
    assert window.period.invoices_to == date(2025, 10, 31)
    left = int(window.left_out["lines"].sum())
    assert left > 0
    assert window.left_out["invoice_date"].min() > date(2025, 10, 31)
    assert window.lines.height + left == int(window.files["charge_lines"].sum())
    # an invoice goes whole: none of its lines stays
    left_numbers = window.left_out["invoice_number"]
    assert sorted(left_numbers) == sorted(  # the invoices of Nov 1–4
        ["MIAR251103454", "714699681", "737604845", "00007X9V31445", "0000R4W2E8445"]
    )
    assert not window.lines.filter(pl.col("invoice_number").is_in(left_numbers.implode())).height
    # a postage statement without a number is one invoice, dated by its last label: the one
    # of Sep 29 – Oct 3 belongs to October, its September labels too
    kept = window.lines.filter(pl.col("source_file").str.contains("EasyPost_shipments_20251005"))
    assert kept["invoice_date"].min() == date(2025, 9, 29)
    assert "left out" in window.summary()
    assert "<table" in window._repr_html_()
    assert int(window.by_carrier()["lines"].sum()) == window.lines.height


# -- a whole month against the sandbox ------------------------------------------------------


@pytest.mark.slow
def test_a_whole_sample_month(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample month against the sandbox, through a cache: its answer key, its pull, its
    outputs, and its reproduction from the snapshot it recorded (by `okc-recon run
    --from-snapshot`). One test, so the month is run once (pytest-xdist's loadgroup does not
    group tests under this pytest)."""
    # the cache file okc-recon finds for the default settings in this folder
    store = Store.for_settings(Settings(cache_dir=tmp_path / "cache"))
    run = run_month(
        SAMPLE_MONTH,
        invoices=SAMPLE / "invoices",
        out=tmp_path / "out",
        settings=Settings(),
        sandbox=True,
        store=store,
        progress=False,
    )
    _finds_exactly_the_answer_key(run)
    _holds_the_month_and_the_one_before(run)
    _wrote_every_output(run, tmp_path / "out")
    _reproduces_from_its_snapshot(run, store, tmp_path, capsys)
    _snapshot_with_other_rules_or_month(run, store, caplog)


def _found(run: MonthlyRun) -> set[tuple[str, str]]:
    assert run.recon is not None
    found = run.recon.exceptions.select("tracking_number", "issue_code").unique()
    return set(found.iter_rows())


def _finds_exactly_the_answer_key(run: MonthlyRun) -> None:
    key = pl.read_csv(
        SAMPLE / "expected_exceptions.csv", schema_overrides={"tracking_number": pl.Utf8}
    )
    assert _found(run) == set(key.iter_rows())
    assert run.exit_code == 1  # exceptions, and the sandbox's malformed records fail checks
    assert run.failed_checks


def _holds_the_month_and_the_one_before(run: MonthlyRun) -> None:
    pulled = run.pulled
    assert pulled is not None
    assert pulled.sandbox
    assert set(pulled.by_month()["month"]) == {"2025-09", "2025-10"}
    assert pulled.walked > pulled.fulfillments.height  # four months served, two selected
    assert "embedded sandbox" in pulled.summary()
    assert "LOCAL OKC SANDBOX" in pulled._repr_html_()
    # the sample month's own fulfillments file holds the same records of these months
    statuses = json.loads((SAMPLE / "statuses.json").read_text(encoding="utf-8"))
    from okc_recon.fulfillments import read_fulfillments

    saved = select_period(
        read_fulfillments(SAMPLE / "fulfillments.json", statuses=statuses), run.period
    )
    assert_frame_equal(pulled.fulfillments.sort("fulfillment_id"), saved.sort("fulfillment_id"))


def _wrote_every_output(run: MonthlyRun, out: Path) -> None:
    outputs = run.outputs
    assert outputs is not None
    assert outputs.workbook == out / "reconciliation-2025-10.xlsx"
    assert outputs.workbook.is_file()
    assert outputs.data_docs == out / "data-docs" / "index.html"
    assert outputs.data_docs.is_file()
    assert set(outputs.parquet) == set(PARQUET_FRAMES)
    assert run.recon is not None
    assert run.pulled is not None
    assert_frame_equal(pl.read_parquet(outputs.parquet["exceptions"]), run.recon.exceptions)
    assert_frame_equal(pl.read_parquet(outputs.parquet["shipments"]), run.recon.shipments)
    assert_frame_equal(pl.read_parquet(outputs.parquet["fulfillments"]), run.pulled.fulfillments)

    text = outputs.run_info.read_text(encoding="utf-8")
    record = json.loads(text)
    info = RunInfo.from_dict(record)
    assert info.period == "2025-10"
    assert info.as_of == date(2025, 12, 15)
    assert info.weight_unit == "lb"
    assert info.rows_out["exceptions"] == run.recon.exceptions.height
    assert info.settings["invoices dated"] == "2025-10-01 to 2025-12-15"
    assert SANDBOX_BANNER in info.notes
    assert record["sandbox"] is True
    assert record["exit_code"] == 1
    assert record["snapshot_id"] == run.snapshot_id
    assert record["outputs"]["workbook"] == "reconciliation-2025-10.xlsx"
    # no credential of the sandbox reaches a file
    for secret in ("sbx.", "sandbox-password", "Bearer", "X-Amz-"):
        assert secret not in text
    status = dict(run.status())
    assert status["outputs"] == str(out)
    assert "not run yet" not in str(run.status())
    assert "Written" in outputs._repr_html_()


def _reproduces_from_its_snapshot(
    run: MonthlyRun, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from okc_recon.cli import main

    assert run.snapshot_id is not None
    assert store.snapshots()["snapshot_id"].to_list() == [run.snapshot_id]
    assert run.outputs is not None
    capsys.readouterr()
    args = ["run", "--from-snapshot", run.snapshot_id, "--out", str(tmp_path / "again")]
    with pytest.raises(SystemExit) as done:
        main([*args, "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    out, err = capsys.readouterr()
    assert done.value.code == 1, err  # the month's exceptions, again
    assert f"reproduced from snapshot {run.snapshot_id}" in out
    again = tmp_path / "again"
    book = again / "reconciliation-2025-10.xlsx"
    assert book.read_bytes() == run.outputs.workbook.read_bytes()
    record = json.loads((again / "run-info.json").read_text(encoding="utf-8"))
    assert record["reproduced_from_snapshot"] == run.snapshot_id
    assert record["as_of"] == run.as_of.isoformat()
    assert record["sandbox"] is False
    exceptions = pl.read_parquet(again / "frames" / "exceptions.parquet")
    assert run.recon is not None
    assert_frame_equal(exceptions, run.recon.exceptions)


def _snapshot_with_other_rules_or_month(
    run: MonthlyRun, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="okc_recon"):
        MonthlyRun.prepare(
            store=store, from_snapshot=run.snapshot_id, rules=Rules(abs_tolerance="5")
        )
    assert any("abs_tolerance" in r.getMessage() for r in caplog.records)
    with pytest.raises(ConfigError, match="is of 2025-10, not 2025-09"):
        MonthlyRun.prepare("2025-09", store=store, from_snapshot=run.snapshot_id)
    with pytest.raises(StoreError, match="no snapshot"):
        MonthlyRun.prepare(store=store, from_snapshot="20990101T000000Z-000000")
    with pytest.raises(ConfigError, match="leave the sandbox out"):
        MonthlyRun.prepare(store=store, from_snapshot=run.snapshot_id, sandbox=True)


def test_a_changed_invoice_file_stops_a_reproduction(tmp_path: Path) -> None:
    invoices = tmp_path / "invoices"
    shutil.copytree(SAMPLE / "invoices" / "dhl", invoices)
    store = Store(tmp_path / "cache.duckdb")
    world = generate(
        GeneratorConfig(seed=11, months=1, orders_per_month=60, plant=False, bad_records=False)
    )
    with Sandbox(world=world) as box:
        run = MonthlyRun.prepare(
            "2025-07",
            invoices=invoices,
            sandbox=box,
            store=store,
            progress=False,
        )
        pulled = run.pull()
        assert box.stats.total > 0  # the caller's sandbox served the pull …
    assert pulled.fulfillments.height > 0
    run.read_invoices()
    snapshot_id = store.snapshot(
        run.month,
        pulled.pulls[0],
        invoice_files=run.invoices.files if run.invoices else (),
        settings={"month": run.month},
    )
    first = sorted(invoices.iterdir())[0]
    first.write_bytes(first.read_bytes() + b"\n")
    with pytest.raises(StoreError, match="changed"):
        MonthlyRun.prepare(store=store, from_snapshot=snapshot_id)


def test_an_incomplete_pull_stops_the_run() -> None:
    world = generate(
        GeneratorConfig(seed=11, months=1, orders_per_month=60, plant=False, bad_records=False)
    )
    faults = Faults(fail_routes={"/v2/fulfillments": 500})
    with Sandbox(world=world, faults=faults) as box:
        run = MonthlyRun.prepare(
            "2025-07", sandbox=box, settings=Settings(max_attempts=1), progress=False
        )
        with pytest.raises(PullError, match="did not return every record"):
            run.pull()
        assert box.base_url.startswith("http://127.0.0.1:")  # still the caller's, still up


def test_sample_data_is_found() -> None:
    assert sample_data_dir() == SAMPLE
