"""`okc-recon pull` against the sandbox over real sockets."""

from __future__ import annotations

import json

import polars as pl
import pytest

from okc_recon.cli import main
from okc_recon.config import ENV_VARS
from okc_recon.fulfillments import read_fulfillments
from okc_recon.sandbox import Faults, GeneratorConfig, Sandbox, generate

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def world():
    return generate(GeneratorConfig(seed=11, months=1, orders_per_month=150))


@pytest.fixture
def sandbox(world, monkeypatch, tmp_path):
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    with Sandbox(world=world, port=0) as sb:
        monkeypatch.setenv("OKC_BASE_URL", sb.base_url)
        monkeypatch.setenv("OKC_ACCESS_TOKEN", sb.access_token)
        monkeypatch.setenv("OKC_MAX_ATTEMPTS", "2")
        yield sb


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pull", "--no-progress", *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_pull_orders_to_parquet(sandbox, world, capsys, tmp_path):
    ids = [o["id"] for o in world.orders[:3]]
    code, out, err = run(
        [arg for i in ids for arg in ("--order-id", i)] + ["--out", "f.parquet"], capsys
    )
    assert code == 0, err
    frame = pl.read_parquet(tmp_path / "f.parquet")
    assert set(frame["order_id"]) <= set(ids)
    expected = sum(1 for f in world.fulfillments if f.get("order_id") in ids and f.get("id"))
    assert out.startswith(f"{frame.height} fulfillments from 3 orders")
    assert frame.height <= expected
    assert out.strip().endswith("f.parquet")


def test_pull_orders_file_to_json(sandbox, world, capsys, tmp_path):
    ids = [o["id"] for o in world.orders[:40]]
    (tmp_path / "orders.txt").write_text("# orders to pull\n" + "\n".join(ids) + "\n\n")
    code, out, _ = run(["--orders-file", "orders.txt", "--out", "f.json"], capsys)
    data = json.loads((tmp_path / "f.json").read_text())
    expected = [f for f in world.fulfillments if f.get("order_id") in set(ids)]
    assert len(data["fulfillments"]) == len(expected)
    assert all("label_url" not in r for r in data["fulfillments"])
    frame = read_fulfillments(tmp_path / "f.json")
    assert frame.height > 0
    assert "40 orders" in out
    # every record is accounted for: parsed, or set aside with its reason
    assert code == 0
    rejected_path = tmp_path / "f.rejected.csv"
    rejected = pl.read_csv(rejected_path).height if rejected_path.exists() else 0
    assert frame.height + rejected == len(expected)
    assert ("rejected records" in out) == (rejected > 0)


def test_pull_orders_csv_file(sandbox, world, capsys, tmp_path):
    ids = [o["id"] for o in world.orders[:2]]
    (tmp_path / "orders.csv").write_text("order_id,note\n" + "".join(f"{i},x\n" for i in ids))
    code, out, _ = run(["--orders-file", "orders.csv", "--out", "f.csv"], capsys)
    assert code == 0
    assert "2 orders" in out


def test_pull_all_to_csv_with_rejected_records(sandbox, world, capsys, tmp_path):
    code, out, err = run(["--all", "--out", "all.csv"], capsys)
    assert code == 0, err
    frame = read_fulfillments(tmp_path / "all.csv")
    rejected = pl.read_csv(tmp_path / "all.rejected.csv")
    assert frame.height + rejected.height == len(world.fulfillments)
    assert rejected.height == 3
    assert "3 rejected" in out


def test_failed_orders_exit_1_and_are_listed(sandbox, world, capsys, tmp_path):
    ids = [o["id"] for o in world.orders[:4]]
    sandbox.set_faults(Faults(fail_routes={f"/v2/orders/{ids[2]}/fulfillments": 500}))
    code, out, err = run(
        [arg for i in ids for arg in ("--order-id", i)] + ["--out", "f.parquet"], capsys
    )
    assert code == 1
    assert "1 order failed" in out
    assert f"failed: order {ids[2]}: GET /v2/orders/{ids[2]}/fulfillments" in err
    assert (tmp_path / "f.parquet").exists()  # what did come back is written


def test_refused_token_exits_2(sandbox, world, capsys, monkeypatch):
    monkeypatch.setenv("OKC_ACCESS_TOKEN", "not-the-token")
    code, _, err = run(["--order-id", world.orders[0]["id"], "--out", "f.parquet"], capsys)
    assert code == 2
    assert err.startswith("error: GET /v2/")
    assert "not-the-token" not in err


def test_usage_and_configuration_errors_exit_2(sandbox, capsys, monkeypatch):
    assert run(["--out", "f.parquet"], capsys)[0] == 2
    assert run(["--all", "--out", "f.xlsx"], capsys)[0] == 2
    assert run(["--all", "--order-id", "x", "--out", "f.csv"], capsys)[0] == 2
    assert run(["--order-id", "x", "--query", "a:b", "--out", "f.csv"], capsys)[0] == 2
    monkeypatch.delenv("OKC_ACCESS_TOKEN")
    code, _, err = run(["--all", "--out", "f.csv"], capsys)
    assert code == 2
    assert "no OKC credentials" in err
