"""The command line as a whole: every command has --help and is in the README; exit codes
0/1/2; errors are one line (``--debug`` adds the traceback); ``run``, ``demo`` and ``export``
end to end."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from okc_recon.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, cli, main
from okc_recon.config import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
COMMANDS = sorted(cli.commands)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OKC_PROGRESS", "0")
    monkeypatch.chdir(tmp_path)  # no stray .env, outputs land in tmp_path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, out, err


def test_the_commands_of_the_spec_exist() -> None:
    assert {"pull", "check", "reconcile", "export", "run", "sandbox", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([name, "--help"], capsys)
    assert code == EXIT_OK
    assert out.startswith(f"Usage: okc-recon {name} ")
    assert "Options:" in out
    summary = cli.commands[name].get_short_help_str(limit=200)
    assert summary
    assert summary in " ".join(out.split())


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"okc-recon {name}\b", readme), f"README.md does not show okc-recon {name}"
    reference = readme.split("## Command-line reference", 1)
    assert len(reference) == 2, "README.md has no '## Command-line reference' section"
    assert re.search(rf"`okc-recon {name}\b", reference[1]), f"{name} not in the CLI reference"


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == EXIT_OK
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", out, re.M), name


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "okc_recon", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("okc-recon, version ")


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["run", "--out", "o"], capsys)
    assert code == EXIT_USAGE
    assert "which month?" in err
    code, _, err = run(["run", "--month", "2025-10", "--out", "o"], capsys)
    assert code == EXIT_USAGE
    assert "--invoices" in err
    code, _, err = run(["run", "--sandbox", "--from-snapshot", "x", "--out", "o"], capsys)
    assert code == EXIT_USAGE
    code, _, err = run(["no-such-command"], capsys)
    assert code == EXIT_USAGE


def test_a_config_error_is_one_line_and_debug_adds_the_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["run", "--month", "2025-10", "--invoices", str(SAMPLE / "invoices"), "--out", "o"]
    code, out, err = run(args, capsys)
    assert code == EXIT_USAGE
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: no OKC credentials: set OKC_ACCESS_TOKEN")
    assert "--sandbox" in lines[0]
    code, _, err = run(["--debug", *args], capsys)
    assert code == EXIT_USAGE
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: no OKC credentials")


def test_a_bad_month_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["run", "--month", "2025-13", "--sandbox", "--out", "o"], capsys)
    assert code == EXIT_USAGE
    assert err.strip() == "error: the month must be YYYY-MM (e.g. 2025-10), got '2025-13'"


def test_an_unexpected_error_is_one_line_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import okc_recon.export

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(okc_recon.export, "filter_fulfillments", boom)
    args = ["export", "--fulfillments", str(SAMPLE / "fulfillments.json"), "--out", "x.xlsx"]
    code, _, err = run(args, capsys)
    assert code == EXIT_USAGE
    assert err.strip() == (
        "error: unexpected RuntimeError: boom (run again with --debug for the traceback)"
    )


def test_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        [
            "export",
            "--fulfillments",
            str(SAMPLE / "fulfillments.json"),
            "--carrier",
            "UPS",
            "--from",
            "2025-10-01",
            "--to",
            "2025-10-15",
            "--out",
            "ups.xlsx",
        ],
        capsys,
    )
    assert code == EXIT_OK, err
    match = re.fullmatch(r"(\d[\d,]*) of (\d[\d,]*) fulfillments → ups\.xlsx\n", out)
    assert match, out
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "ups.xlsx", read_only=True)
    try:
        rows = list(wb["Fulfillments"].values)
        info = dict(list(wb["Export info"].values)[1:])
    finally:
        wb.close()
    assert len(rows) - 1 == int(match.group(1).replace(",", "")) > 0
    carrier = rows[0].index("carrier")
    assert {row[carrier] for row in rows[1:]} == {"ups"}
    assert info["carrier"] == "ups"
    assert info["pickup_date"] == "2025-10-01 to 2025-10-15"
    code, _, err = run(["export", "--fulfillments", "nope.json", "--out", "x.xlsx"], capsys)
    assert code == EXIT_USAGE


@pytest.mark.slow
def test_demo(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """`okc-recon demo` (what `make demo` runs): the sample month against the sandbox, found
    exactly as its answer key says, every output written and named."""
    code, out, err = run(["demo", "--out", "demo-out", "--no-progress"], capsys)
    assert code == EXIT_OK, err
    assert "LOCAL OKC SANDBOX" in out
    assert "LOCAL OKC SANDBOX" in caplog.text  # the log warning too
    key = pl.read_csv(SAMPLE / "expected_exceptions.csv")
    assert f"The {key.height} problems planted in the sample month were found" in out
    out_dir = tmp_path / "demo-out"
    for name in ("reconciliation-2025-10.xlsx", "data-docs/index.html", "run-info.json"):
        assert (out_dir / name).is_file(), name
        assert str(Path("demo-out") / name) in out
    assert (out_dir / "frames" / "exceptions.parquet").is_file()
    # the summary table: every carrier and the issue codes
    for word in ("carrier", "fedex", "ups", "usps", "dhl", "NOT_IN_OKC", "LATE_DELIVERY"):
        assert word in out


def test_run_passes_its_options_and_a_failed_pull_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import okc_recon.monthly
    from okc_recon.errors import PullError

    calls: list[dict[str, object]] = []

    def failing_run(month: str | None = None, **options: object) -> object:
        calls.append({"month": month, **options})
        raise PullError("the pull did not return every record: page at cursor 'c2'", failures=[])

    monkeypatch.setattr(okc_recon.monthly, "run_month", failing_run)
    args = ["run", "--month", "2025-10", "--sandbox", "--out", "o", "--no-cache"]
    args += ["--grace-days", "30", "--as-of", "2025-12-01", "--weight-unit", "oz"]
    code, out, err = run(args, capsys)
    assert code == EXIT_USAGE
    assert out == ""
    assert err == "error: the pull did not return every record: page at cursor 'c2'\n"
    (call,) = calls
    assert call["month"] == "2025-10"
    assert call["sandbox"] is True
    assert call["store"] is False
    assert call["invoices"] is None  # with --sandbox: the sandbox's own invoices
    assert call["grace_days"] == 30
    assert call["as_of"] == "2025-12-01"
    assert call["rules"].weight_unit == "oz"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_run_against_the_sandbox_exits_1_on_findings(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """`okc-recon run --sandbox` (``make monthly SANDBOX=1``) with the sandbox's own invoices."""
    code, out, err = run(["run", "--month", "2025-10", "--sandbox", "--out", "m"], capsys)
    assert code == EXIT_FINDINGS, err
    assert out.startswith("=" * 72 + "\n  LOCAL OKC SANDBOX")
    assert "Monthly run 2025-10 as of 2025-12-15" in out
    assert "no invoices given: reading the sandbox's own invoices" in caplog.text
    assert re.search(r"^all\s+[\d,]+\s", out, re.M), out
    assert "failed error-severity checks:" in out
    assert (tmp_path / "m" / "reconciliation-2025-10.xlsx").is_file()
    assert "snapshot" not in out  # the sandbox is never cached
