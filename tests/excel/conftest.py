from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from okc_recon.excel import write_workbook
from okc_recon.runinfo import RunInfo
from tests.excel.month import Month, synthetic_month

RUN_AT = datetime(2024, 3, 16, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def month() -> Month:
    return synthetic_month(150, seed=7)


@pytest.fixture(scope="session")
def run_info() -> RunInfo:
    return RunInfo.create(run_at=RUN_AT, period="2024-01", weight="lb")


@pytest.fixture(scope="session")
def book(month: Month, run_info: RunInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book") / "month.xlsx"
    return write_workbook(month, path, run_info=run_info)
