from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from okc_recon.config import Secret, Settings
from okc_recon.runinfo import InputFile, RunInfo, safe_base_url
from okc_recon.schema import INVOICE_FILE_SCHEMA
from okc_recon.weights import WeightUnitInference

TOKEN = "tok-3f9a-very-secret"


def test_settings_are_recorded_without_credentials() -> None:
    settings = Settings(
        base_url="https://na1-stage.okcapsule.app",
        access_token=Secret(TOKEN),
        username="analyst@example.com",
        password=Secret("hunter2"),
        page_size=50,
    )
    info = RunInfo.create(settings=settings, run_at=datetime(2024, 1, 2, tzinfo=UTC))
    assert info.base_url == "https://na1-stage.okcapsule.app"
    assert info.settings["page_size"] == "50"
    assert "access_token" not in info.settings
    assert "password" not in info.settings
    assert "username" not in info.settings
    dumped = json.dumps(info.to_dict())
    for secret in (TOKEN, "hunter2", "analyst@example.com"):
        assert secret not in dumped
        assert secret not in repr(info)


def test_base_url_loses_user_info_and_query() -> None:
    assert safe_base_url("https://u:p@host.example:8443/api/?token=x#f") == (
        "https://host.example:8443/api/"
    )
    assert safe_base_url(None) is None
    info = RunInfo(run_at=datetime(2024, 1, 1, tzinfo=UTC), base_url="http://a:b@127.0.0.1:9/")
    assert info.base_url == "http://127.0.0.1:9/"


def test_run_time_is_utc_whole_seconds() -> None:
    eastern = timezone(timedelta(hours=-5))
    info = RunInfo(run_at=datetime(2024, 1, 1, 7, 0, 0, 123456, tzinfo=eastern))
    assert info.run_at == datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert RunInfo(run_at=datetime(2024, 1, 1, 7)).run_at.tzinfo is UTC


def test_input_files_are_hashed(tmp_path: Path) -> None:
    path = tmp_path / "fedex.csv"
    path.write_bytes(b"Invoice Number,Tracking ID\n123,0001\n" * 1000)
    f = InputFile.from_path(path, kind="invoice", format="fedex_fbo", rows=1000)
    assert f.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert f.size_bytes == path.stat().st_size
    files = pl.DataFrame(
        {
            "source_file": [str(path)],
            "format": ["fedex_fbo"],
            "sha256": [f.sha256],
            "lines_in": [2],
        },
    ).with_columns(
        [
            pl.lit(None).cast(d).alias(n)
            for n, d in INVOICE_FILE_SCHEMA.items()
            if n not in ("source_file", "format", "sha256", "lines_in")
        ]
    )
    (read,) = InputFile.from_invoice_files(files)
    assert (read.path, read.sha256, read.format, read.rows, read.kind) == (
        str(path),
        f.sha256,
        "fedex_fbo",
        2,
        "invoice",
    )


def test_weight_inference_and_round_trip(tmp_path: Path) -> None:
    inference = WeightUnitInference("oz", 0.9, 120, 0.95, "lb", 0.1, 0.0625, "oz agrees")
    info = RunInfo.create(
        run_at=datetime(2024, 2, 1, 3, 4, 5, tzinfo=UTC),
        weight=inference,
        rows_in={"fulfillments": 10},
        rows_out={"shipments": 9},
        period="2024-01",
        as_of=date(2024, 3, 16),
        extra_settings={"markup": 0.1},
        notes=["sandbox data"],
    )
    assert info.weight_unit == "oz"
    assert "120 matched shipments" in info.weight_unit_evidence
    again = RunInfo.from_dict(json.loads(json.dumps(info.to_dict())))
    assert again == info
    items = dict(info.items())
    assert items["weight unit"] == "oz"
    assert items["as of"] == "2024-03-16"
    assert items["run at (UTC)"] == "2024-02-01 03:04:05"
    assert RunInfo.create(weight="kg").weight_unit_evidence == "set by the user"
