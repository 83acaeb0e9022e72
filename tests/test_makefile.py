"""The Makefile targets of the three ways of working: demo, monthly, lab (and help).

Recipes are checked with ``make -n`` (what would run) and by running the refusals, which
stop before anything is built. Runs from a scratch folder use ``make -f`` so that no
``.env`` of the checkout is read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = ROOT / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OKC_", "MAKE"))}
    clean.update(env)
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(MAKEFILE), *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_target() -> None:
    done = make("help")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^  make (\S+)", done.stdout, re.M)
    documented = re.findall(r"^([a-z-]+):.*## ", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert listed == documented
    assert {"setup", "demo", "test", "lint", "bench", "lab", "monthly", "help"} <= set(listed)
    assert "MONTH=YYYY-MM" in done.stdout


def test_monthly_needs_a_month(tmp_path: Path) -> None:
    done = make("monthly", cwd=tmp_path)
    assert done.returncode == 2
    assert "say which month, e.g. make monthly MONTH=2025-10" in done.stderr
    assert not (tmp_path / ".venv").exists()


def test_monthly_refuses_without_credentials_before_building(tmp_path: Path) -> None:
    done = make("monthly", "MONTH=2025-10", cwd=tmp_path)
    assert done.returncode == 2
    assert "no OKC credentials" in done.stderr
    assert "OKC_ACCESS_TOKEN" in done.stderr
    assert "make monthly MONTH=2025-10 SANDBOX=1" in done.stderr
    assert not (tmp_path / ".venv").exists()
    assert not (tmp_path / ".tools").exists()
    # a commented-out line in .env is not a credential
    (tmp_path / ".env").write_text("# OKC_USERNAME=someone\nOKC_BASE_URL=https://x.test\n")
    assert make("monthly", "MONTH=2025-10", cwd=tmp_path).returncode == 2


def _recipe(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "okc-recon run" in line]
    assert len(lines) == 1, done.stdout
    return " ".join(lines[0].split())


def test_monthly_takes_credentials_from_the_environment_or_env_file(tmp_path: Path) -> None:
    line = _recipe(make("-n", "monthly", "MONTH=2025-10", OKC_ACCESS_TOKEN="tok-secret-1"))
    assert line.endswith(
        "okc-recon run --month 2025-10 --invoices invoices/2025-10 --out out/2025-10"
    )
    # the recipe never carries a credential (make -n prints it, logs keep it)
    done = make("-n", "monthly", "MONTH=2025-10", OKC_ACCESS_TOKEN="tok-secret-1")
    assert "tok-secret-1" not in done.stdout + done.stderr
    (tmp_path / ".env").write_text("export OKC_USERNAME = analyst@example.com\n")
    done = make("monthly-args", "MONTH=2025-10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_monthly_variables() -> None:
    line = _recipe(
        make(
            "-n",
            "monthly",
            "MONTH=2025-09",
            "INVOICES=sample_data/invoices",
            "OUT=reports/sep",
            OKC_USERNAME="u",
            OKC_PASSWORD="p",
        )
    )
    assert "okc-recon run --month 2025-09 --invoices sample_data/invoices --out reports/sep" in line
    assert "--sandbox" not in line


def test_monthly_against_the_sandbox() -> None:
    # no invoice folder for the month: the sandbox's own invoices
    line = _recipe(make("-n", "monthly", "MONTH=2025-10", "SANDBOX=1"))
    assert line.endswith("okc-recon run --month 2025-10 --out out/2025-10 --sandbox")
    line = _recipe(make("-n", "monthly", "MONTH=2025-10", "SANDBOX=1", "INVOICES=sample_data"))
    assert "--invoices sample_data --out out/2025-10 --sandbox" in line


def test_demo_and_lab_recipes() -> None:
    done = make("-n", "demo")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\.venv/bin/okc-recon demo --out out$", done.stdout, re.M)
    done = make("-n", "lab")
    assert done.returncode == 0, done.stderr
    assert "ipykernel install --sys-prefix --name python3" in done.stdout
    assert re.search(r"JUPYTER_PATH=\S+/\.venv/share/jupyter \.venv/bin/jupyter lab", done.stdout)
    assert "--notebook-dir=notebooks" in done.stdout
