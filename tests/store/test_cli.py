"""`okc-recon pull` and the cache: --cache-dir, --refresh, --no-cache, and the default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from okc_recon.cli import main
from okc_recon.config import ENV_VARS
from okc_recon.sandbox import Sandbox, World
from tests.store.conftest import ORDER_ROUTE, order_ids

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def env_sandbox(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sandbox]:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    with Sandbox(world=world, port=0) as sb:
        monkeypatch.setenv("OKC_BASE_URL", sb.base_url)
        monkeypatch.setenv("OKC_ACCESS_TOKEN", sb.access_token)
        monkeypatch.setenv("OKC_CACHE_DIR", str(tmp_path / "default-cache"))
        yield sb


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["pull", "--no-progress", *args])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_cache_dir_refresh_and_no_cache(
    env_sandbox: Sandbox, world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids = order_ids(world)[:30]
    orders = [a for i in ids for a in ("--order-id", i)]
    cache = ["--cache-dir", str(tmp_path / "cache")]

    code, out, err = run([*orders, *cache, "--out", "a.parquet"], capsys)
    assert code == 0, err
    assert "from the cache" not in out
    assert len(list((tmp_path / "cache").glob("*.duckdb"))) == 1
    env_sandbox.stats.reset()
    code, out, _ = run([*orders, *cache, "--out", "b.parquet"], capsys)
    assert code == 0
    assert "records from the cache" in out
    assert env_sandbox.stats.by_route[ORDER_ROUTE] < len(ids)

    env_sandbox.stats.reset()
    code, out, _ = run([*orders, *cache, "--refresh", "--out", "c.parquet"], capsys)
    assert code == 0
    assert "from the cache" not in out
    assert env_sandbox.stats.by_route[ORDER_ROUTE] == len(ids)

    env_sandbox.stats.reset()
    code, out, _ = run([*orders, "--no-cache", "--out", "d.parquet"], capsys)
    assert code == 0
    assert env_sandbox.stats.by_route[ORDER_ROUTE] == len(ids)
    # the sandbox (a loopback URL) is not cached unless --cache-dir names a folder
    run([*orders, "--out", "e.parquet"], capsys)
    assert not (tmp_path / "default-cache").exists()

    code, _, err = run([*orders, "--no-cache", "--refresh", "--out", "f.parquet"], capsys)
    assert code == 2
    assert "--no-cache" in err
