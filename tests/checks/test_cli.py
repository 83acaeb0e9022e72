from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from okc_recon.cli import main
from okc_recon.fulfillments import write_fulfillments
from tests.checks.conftest import AS_OF, clean_fulfillments

pytestmark = pytest.mark.xdist_group("gx")

SAMPLE_UPS = Path(__file__).resolve().parents[2] / "sample_data" / "invoices" / "ups"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, out, err


def test_check_prints_failed_checks_writes_docs_and_exits_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fulfillment_case: tuple[pl.DataFrame, set[tuple[str, str]]],
) -> None:
    if not SAMPLE_UPS.is_dir():
        pytest.skip("sample_data/ has not been generated")
    frame, expected = fulfillment_case
    source = write_fulfillments(frame, tmp_path / "fulfillments.parquet")
    out_dir = tmp_path / "checks"
    code, out, _ = run(
        [
            "check",
            "--fulfillments",
            str(source),
            "--invoices",
            str(SAMPLE_UPS),
            "--as-of",
            AS_OF,
            "--weight-unit",
            "lb",
            "--out",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 1
    assert "fulfillments" in out
    assert "invoice_lines" in out
    for check in ("tracking_number_present", "charge_positive", "fulfillment_id_unique"):
        assert check in out
    assert (out_dir / "index.html").is_file()
    assert (out_dir / "validations").is_dir()
    failures = pl.read_csv(out_dir / "check_failures.csv", infer_schema=False)
    named = set(
        failures.filter(pl.col("suite") == "fulfillments")
        .select("record_id", "expectation")
        .iter_rows()
    )
    assert named == expected
    expectations = pl.read_csv(out_dir / "check_expectations.csv", infer_schema=False)
    assert set(expectations["suite"]) == {"fulfillments", "invoice_lines"}
    assert "wrote " in out


def test_clean_fulfillments_exit_0_with_a_weight_unit_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_fulfillments(clean_fulfillments(), tmp_path / "clean.csv")
    code, out, err = run(["check", "--fulfillments", str(source), "--as-of", AS_OF], capsys)
    assert code == 0, out + err
    assert "weight unit: unknown: weight magnitude checks skipped" in out
    # --fail-on decides what fails the run: the skipped check is no failure at any level
    code, _, _ = run(
        ["check", "--fulfillments", str(source), "--as-of", AS_OF, "--fail-on", "info"], capsys
    )
    assert code == 0


def test_warnings_fail_the_run_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.checks.conftest import Fulfillments

    builder = Fulfillments(seed=53).clean(4)
    builder.add("tracking_url_host", tracking_url="https://track.example.net/1")
    source = write_fulfillments(builder.frame(), tmp_path / "f.parquet")
    args = ["check", "--fulfillments", str(source), "--as-of", AS_OF, "--weight-unit", "lb"]
    assert run(args, capsys)[0] == 0
    assert run([*args, "--fail-on", "warning"], capsys)[0] == 1


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check"], capsys)
    assert code == 2
    assert "nothing to check" in err
    source = write_fulfillments(clean_fulfillments(), tmp_path / "f.parquet")
    code, _, err = run(["check", "--fulfillments", str(source), "--as-of", "31/10/2025"], capsys)
    assert code == 2
    assert err.startswith("error: as_of must be a date")
