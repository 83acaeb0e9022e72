"""Inputs the CLI takes beside fulfillments and invoices: status names and column mappings."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_series_equal

from okc_recon import pull_fulfillments, read_fulfillments
from okc_recon.cli import main
from okc_recon.config import ENV_VARS, Secret, Settings
from okc_recon.monthly import MonthlyRun
from okc_recon.sandbox import GeneratorConfig, Sandbox, generate

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"

pytestmark = pytest.mark.timeout(120)


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def answer_key() -> set[tuple[str, str]]:
    key = pl.read_csv(SAMPLE / "expected_exceptions.csv", infer_schema=False)
    return set(key.select("tracking_number", "issue_code").iter_rows())


def test_reconcile_with_statuses_finds_the_sample_months_answer_key(clean_env, capsys, tmp_path):
    args = [
        "reconcile",
        "--fulfillments", str(SAMPLE / "fulfillments.json"),
        "--invoices", str(SAMPLE / "invoices"),
        "--period", "2025-10",
        "--out", str(tmp_path / "recon.parquet"),
    ]  # fmt: skip
    code, _, err = run_cli([*args, "--statuses", str(SAMPLE / "statuses.json")], capsys)
    assert code == 1, err  # exceptions found
    exceptions = pl.read_parquet(tmp_path / "recon.exceptions.parquet")
    found = set(exceptions.select("tracking_number", "issue_code").iter_rows())
    assert found == answer_key()

    # Without the status names, canceled fulfillments cannot be told apart.
    code, _, err = run_cli(args, capsys)
    exceptions = pl.read_parquet(tmp_path / "recon.exceptions.parquet")
    assert "BILLED_CANCELED" not in set(exceptions["issue_code"])


def test_statuses_file_that_is_not_a_status_list_is_one_clear_error(clean_env, capsys, tmp_path):
    bad = tmp_path / "statuses.json"
    bad.write_text(json.dumps({"status": "ok"}))
    code, _, err = run_cli(
        ["check", "--fulfillments", str(SAMPLE / "fulfillments.json"), "--statuses", str(bad)],
        capsys,
    )
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "--statuses" in err
    assert "expected a list of status records" in err


def test_a_saved_pull_carries_its_status_names(clean_env, tmp_path):
    world = generate(GeneratorConfig(seed=11, months=1, orders_per_month=150))
    with Sandbox(world=world, port=0) as sb:
        settings = Settings(base_url=sb.base_url, access_token=Secret(sb.access_token))
        result = pull_fulfillments(all=True, settings=settings, progress=False, store=False)
    assert result.statuses
    saved = result.write(tmp_path / "pull.json")
    assert json.loads(saved.read_text())["statuses"] == [dict(s) for s in result.statuses]
    again = read_fulfillments(saved)
    assert again["status"].null_count() < again.height
    assert_series_equal(
        again.sort("fulfillment_id")["status"],
        result.fulfillments.sort("fulfillment_id")["status"],
    )


MAPPED_CSV = """Inv No,Inv Date,Tracking #,Desc,Net
A-1,10/14/2025,794644790148,Freight,12.40
A-1,10/14/2025,794644790148,Fuel,1.10
A-1,10/14/2025,794644790155,Freight,9.95
"""

MAPPING_TOML = """carrier = "fedex"
date_format = "%m/%d/%Y"

[columns]
invoice_number = "Inv No"
invoice_date = "Inv Date"
tracking_number = "Tracking #"
charge_description = "Desc"
amount = "Net"
"""


def test_check_reads_an_unknown_layout_through_a_mapping(clean_env, capsys, tmp_path):
    invoices = tmp_path / "invoices"
    invoices.mkdir()
    (invoices / "odd.csv").write_text(MAPPED_CSV)
    (tmp_path / "odd.toml").write_text(MAPPING_TOML)

    code, _, err = run_cli(["check", "--invoices", str(invoices)], capsys)
    assert code == 2
    assert "mapping" in err  # the error says how to read the file

    code, out, err = run_cli(
        ["check", "--invoices", str(invoices), "--mapping", str(tmp_path / "odd.toml")], capsys
    )
    assert code in (0, 1), err
    assert "3 invoice lines from 1 file (0 lines rejected)" in out


def test_monthly_run_takes_a_mapping_and_refuses_a_broken_one(clean_env, tmp_path):
    (tmp_path / "broken.toml").write_text("columns = 3\n")
    with pytest.raises(Exception, match="columns"):
        MonthlyRun.prepare("2025-10", sandbox=True, mapping=tmp_path / "broken.toml")
    run = MonthlyRun.prepare(
        "2025-10", sandbox=True, mapping={"tracking_number": "T", "amount": "A", "carrier": "ups"}
    )
    try:
        assert run.mapping == {"tracking_number": "T", "amount": "A", "carrier": "ups"}
    finally:
        run.close()
