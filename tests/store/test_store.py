"""The store file itself: one per environment, one writer at a time, refusals that say why."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from okc_recon.config import PROD_BASE_URL, STAGE_BASE_URL, Settings
from okc_recon.errors import ConfigError, StoreError
from okc_recon.store import (
    Store,
    final_status_ids,
    is_loopback,
    resolve_store,
)

RECORDS = [
    {"id": "f1", "order_id": "o1", "status_id": 24, "updated_at": "2025-10-01T12:00:00Z"},
    {"id": "f2", "order_id": "o1", "status_id": 22, "updated_at": "2025-10-02T12:00:00Z"},
]


def test_each_environment_has_its_own_file(tmp_path: Path) -> None:
    prod = Store.for_settings(Settings(base_url=PROD_BASE_URL, cache_dir=tmp_path))
    stage = Store.for_settings(Settings(base_url=STAGE_BASE_URL, cache_dir=tmp_path))
    assert prod.path.parent == stage.path.parent == tmp_path
    assert prod.path != stage.path
    assert prod.path.name.startswith("na1-prod.okcapsule.app-")
    assert prod.path.suffix == ".duckdb"
    # user info in a URL (a credential) never reaches the file name
    odd = Store.for_settings(
        Settings(base_url="https://user:pw@host.test:8443/x", cache_dir=tmp_path)
    )
    assert "pw" not in odd.path.name
    assert odd.path.name.startswith("host.test_8443-")


def test_a_file_keeps_to_the_environment_it_was_filled_from(store: Store) -> None:
    with store.open(PROD_BASE_URL) as session:
        session.put(RECORDS)
    with (
        pytest.raises(StoreError, match="holds records of https://na1-prod"),
        store.open(STAGE_BASE_URL),
    ):
        pass
    with store.open(PROD_BASE_URL) as session:
        assert set(session.current(["f1", "f2", "f3"])) == {"f1", "f2"}


def test_versions_are_kept_and_the_last_fetched_is_current(store: Store) -> None:
    with store.open(PROD_BASE_URL) as session:
        first = session.put(RECORDS)
        assert first.ids == ["f1", "f2"]
        assert first.latest is not None
        assert first.latest.isoformat() == "2025-10-02T12:00:00+00:00"
        again = session.put(RECORDS[:1])  # the same content: the same version
        assert again.shas == first.shas[:1]
        changed = session.put([{**RECORDS[0], "status_id": 25}])
        assert changed.shas[0] != first.shas[0]
        assert session.current(["f1"])["f1"][0] == changed.shas[0]
        back = session.put(RECORDS[:1])  # the API went back to the first content
        assert session.current(["f1"])["f1"][0] == back.shas[0] == first.shas[0]
    history = store.history("f1")
    assert history.height == 2
    assert history["current"].to_list().count(True) == 1
    assert history.filter("current")["sha256"][0] == first.shas[0]
    assert store.history("nope").height == 0


def test_a_second_pull_in_the_same_process_is_refused(store: Store) -> None:
    with store.open(PROD_BASE_URL):
        with pytest.raises(StoreError, match="in use by another pull in this process"):
            store.open(PROD_BASE_URL)
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                store.open(PROD_BASE_URL)
            except StoreError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1
    with store.open(PROD_BASE_URL):  # released when the first one closed
        pass


def test_a_wait_serialises_instead_of_refusing(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    waiting = Store(path, lock_timeout=5.0)
    first = Store(path).open(PROD_BASE_URL)
    timer = threading.Timer(0.3, first.close)
    timer.start()
    with waiting.open(PROD_BASE_URL) as session:  # got the file once the first let go
        session.put(RECORDS)
    timer.join()


def test_a_damaged_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "c.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"cannot open the cache .* not a valid DuckDB"):
        Store(path).open(PROD_BASE_URL)


def test_a_folder_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        Store(tmp_path)
    with pytest.raises(ConfigError, match="negative"):
        Store(tmp_path / "x.duckdb", lag=timedelta(hours=-1))


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "none.duckdb")
    assert store.snapshots().height == 0
    assert store.fulfillments().height == 0
    with pytest.raises(StoreError, match="no snapshot 'x'"):
        store.load_snapshot("x")
    assert not store.path.exists()


def test_final_statuses() -> None:
    statuses = [
        {"id": 6, "name": "Delivered", "group": "order"},
        {"id": 24, "name": "Delivered", "group": "fulfillment"},
        {"id": 25, "name": "Returned to Sender", "group": "fulfillment"},
        {"id": 26, "name": "Canceled", "group": "fulfillment"},
        {"id": 27, "name": "Delivery Exception", "group": "fulfillment"},
        {"id": 28, "name": "Cancelled by carrier", "group": "fulfillment"},
    ]
    # the fulfillment group wins when the answer has one
    assert final_status_ids(statuses) == {"24", "26", "28"}
    assert final_status_ids({"a": "delivered", "b": "In Transit"}) == {"a"}
    assert final_status_ids(None) == set()
    assert final_status_ids(statuses, ["returned"]) == {"25"}


def test_which_store_a_pull_uses(tmp_path: Path) -> None:
    real = Settings(base_url=PROD_BASE_URL, cache_dir=tmp_path)
    local = Settings(base_url="http://127.0.0.1:8765", cache_dir=tmp_path)
    mine = Store(tmp_path / "mine.duckdb")
    chosen = resolve_store(None, real, auto=True)
    assert chosen is not None
    assert chosen.path == Store.for_settings(real).path
    assert resolve_store(None, real, auto=False) is None  # a transport replaces the network
    assert resolve_store(None, local, auto=True) is None  # the sandbox: not by default
    forced = resolve_store(True, local, auto=True)
    assert forced is not None
    assert forced.path == Store.for_settings(local).path
    assert resolve_store(False, real, auto=True) is None
    assert resolve_store(mine, local, auto=False) is mine
    with pytest.raises(ConfigError):
        resolve_store("yes", real, auto=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://127.8.0.1", True),
        ("http://localhost:1", True),
        ("http://[::1]:8080", True),
        ("https://na1-prod.okcapsule.app", False),
        ("http://10.0.0.1", False),
    ],
)
def test_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("yes", True), ("off", False), ("0", False)]
)
def test_q_ranges_setting(raw: str, value: bool) -> None:
    assert Settings.from_env({"OKC_Q_RANGES": raw}, env_file=None).q_ranges is value
    assert Settings.from_env({}, env_file=None).q_ranges is False


def test_q_ranges_setting_refuses_other_words() -> None:
    with pytest.raises(ConfigError, match="OKC_Q_RANGES must be 1 or 0"):
        Settings.from_env({"OKC_Q_RANGES": "maybe"}, env_file=None)


def test_duckdb_is_imported_only_when_a_cache_is_opened() -> None:
    import subprocess
    import sys

    code = (
        "import sys, okc_recon.api, okc_recon.store, okc_recon.cli; print('duckdb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_only_a_busy_file_is_waited_for(store: Store) -> None:
    with store.open(PROD_BASE_URL):
        pass
    patient = Store(store.path, lock_timeout=30.0)
    started = time.monotonic()
    with pytest.raises(StoreError, match="holds records of"):
        patient.open(STAGE_BASE_URL)  # another environment: refused at once, not in 30 s
    assert time.monotonic() - started < 5
