"""Snapshots: a run's exact fulfillment versions and invoice files, given back identical
even after the server's data changed."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from okc_recon.errors import ConfigError, StoreError
from okc_recon.runinfo import InputFile
from okc_recon.sandbox import Sandbox, World
from okc_recon.store import Store
from tests.store.conftest import order_ids, pull, settings_for, status_ids


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def invoices(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "invoices"
    folder.mkdir()
    paths = [folder / "fedex.csv", folder / "ups.csv"]
    for n, path in enumerate(paths):
        path.write_bytes(f"invoice {n}\n1,2,3\n".encode())
    return paths


def change_every_kind(sb: Sandbox, world: World, frame: pl.DataFrame) -> list[str]:
    """Change three fulfillments on the server (status, charge, tracking); their ids."""
    ids = frame["fulfillment_id"].to_list()[:3]
    sb.update_fulfillment(ids[0], status_id=status_ids(world, "Canceled")[0])
    sb.update_fulfillment(ids[1], shipping_net_charge=987.65)
    sb.update_fulfillment(ids[2], tracking_number="9400100000000000000000")
    return ids


def test_a_snapshot_of_a_pull_reproduces_its_frames_after_the_server_changed(
    sandbox: Sandbox, world: World, store: Store, invoices: list[Path]
) -> None:
    ids = order_ids(world)[:60]
    first = pull(sandbox, ids, store=store)
    sid = store.snapshot(
        "2025-07",
        first,
        invoice_files=[(str(p), sha(p.read_bytes())) for p in invoices],
        settings={"period": "2025-07", "grace_days": 45, "markup": Decimal("0.10")},
    )
    changed = change_every_kind(sandbox, world, first.fulfillments)
    later = pull(sandbox, ids, store=store, refresh=True)
    for fid in changed:  # the cache moved on to the server's new versions
        assert store.history(fid)["current"].to_list() == [False, True]
    assert not later.fulfillments.equals(first.fulfillments)

    snap = store.load_snapshot(sid)
    assert_frame_equal(snap.fulfillments, first.fulfillments)
    assert_frame_equal(snap.rejected, first.rejected)
    assert snap.label == "2025-07"
    assert snap.base_url == sandbox.base_url
    assert snap.invoice_files == tuple((str(p), sha(p.read_bytes())) for p in invoices)
    assert snap.settings == {"period": "2025-07", "grace_days": 45, "markup": "0.10"}
    snap.verify_invoice_files()
    assert sid in repr(snap)
    assert "2 invoice files" in repr(snap)

    records = store.snapshot_records(sid)
    assert [r.get("id") for r in records] == [r.get("id") for r in first._records]
    assert all("label_url" not in r for r in records)
    charges = {r["id"]: r["shipping_net_charge"] for r in records if r.get("id")}
    assert isinstance(charges[changed[1]], Decimal)  # money read back exact, not float


def test_a_snapshot_of_a_frame_uses_the_versions_the_frame_shows(
    sandbox: Sandbox, world: World, store: Store
) -> None:
    ids = order_ids(world)[:60]
    first = pull(sandbox, ids, store=store)
    change_every_kind(sandbox, world, first.fulfillments)
    pull(sandbox, ids, store=store, refresh=True)
    # the frame of the first pull: matched by updated_at to its versions, not the current
    sid = store.snapshot("frame", first.fulfillments)
    snap = store.load_snapshot(sid)
    assert_frame_equal(snap.fulfillments, first.fulfillments)
    assert snap.rejected.height == 0
    # by id: the current versions
    current = store.snapshot("ids", first.fulfillments["fulfillment_id"].to_list())
    now = pull(sandbox, ids, store=False).fulfillments
    assert_frame_equal(store.load_snapshot(current).fulfillments, now)


def test_snapshots_are_listed(sandbox: Sandbox, world: World, store: Store) -> None:
    first = pull(sandbox, order_ids(world)[:10], store=store)
    a = store.snapshot("2025-07", first)
    b = store.snapshot("2025-07 rerun", first.fulfillments, invoice_files=[])
    listing = store.snapshots()
    assert listing["snapshot_id"].to_list() == [a, b]
    assert listing["label"].to_list() == ["2025-07", "2025-07 rerun"]
    assert listing["records"].to_list() == [first.records, first.fulfillments.height]
    assert listing.schema["created_at"] == pl.Datetime("us", "UTC")
    assert set(listing["base_url"]) == {sandbox.base_url}


def test_invoice_files_in_every_form(tmp_path: Path, store: Store, invoices: list[Path]) -> None:
    with store.open("https://okc.test") as session:
        session.put([{"id": "f1", "order_id": "o1", "updated_at": "2025-10-01T00:00:00Z"}])
    digest = [sha(p.read_bytes()) for p in invoices]
    frame = pl.DataFrame({"source_file": [str(p) for p in invoices], "sha256": digest})
    forms: list[object] = [
        invoices,  # paths: hashed now
        [(str(p), d.upper()) for p, d in zip(invoices, digest, strict=True)],
        [InputFile.from_path(p, kind="invoice") for p in invoices],
        frame,  # read_invoices(...).files
    ]
    for form in forms:
        sid = store.snapshot("x", ["f1"], invoice_files=form)  # type: ignore[arg-type]
        files = store.load_snapshot(sid).invoice_files
        assert files == tuple((str(p), d) for p, d in zip(invoices, digest, strict=True))

    with pytest.raises(ConfigError, match="not a SHA-256"):
        store.snapshot("x", ["f1"], invoice_files=[("a.csv", "abc")])
    with pytest.raises(ConfigError, match="cannot hash"):
        store.snapshot("x", ["f1"], invoice_files=[tmp_path / "missing.csv"])
    with pytest.raises(ConfigError, match="needs the columns"):
        store.snapshot("x", ["f1"], invoice_files=pl.DataFrame({"path": ["a"]}))


def test_changed_or_missing_invoice_files_are_named(store: Store, invoices: list[Path]) -> None:
    with store.open("https://okc.test") as session:
        session.put([{"id": "f1", "updated_at": "2025-10-01T00:00:00Z"}])
    sid = store.snapshot("x", ["f1"], invoice_files=invoices)
    snap = store.load_snapshot(sid)
    snap.verify_invoice_files()
    invoices[0].write_bytes(b"edited")
    invoices[1].unlink()
    with pytest.raises(StoreError, match="2 of 2 invoice files") as error:
        snap.verify_invoice_files()
    assert "fedex.csv: changed" in str(error.value)
    assert "ups.csv: missing" in str(error.value)


def test_relative_invoice_paths_resolve_under_a_root(store: Store, tmp_path: Path) -> None:
    (tmp_path / "inv.csv").write_bytes(b"x")
    with store.open("https://okc.test") as session:
        session.put([{"id": "f1"}])
    sid = store.snapshot("x", ["f1"], invoice_files=[("inv.csv", sha(b"x"))])
    store.load_snapshot(sid).verify_invoice_files(root=tmp_path)
    with pytest.raises(StoreError, match=r"inv\.csv: missing"):
        store.load_snapshot(sid).verify_invoice_files(root=tmp_path / "elsewhere")


def test_what_cannot_be_snapshotted(
    sandbox: Sandbox, world: World, store: Store, tmp_path: Path
) -> None:
    uncached = pull(sandbox, order_ids(world)[:5], store=False)
    with pytest.raises(StoreError, match="did not use the cache"):
        store.snapshot("x", uncached)
    with pytest.raises(StoreError, match=r"1 fulfillments are not in the cache .*first: nope"):
        store.snapshot("x", ["nope"])
    with pytest.raises(StoreError, match="have no cached version with their updated_at"):
        store.snapshot("x", uncached.fulfillments)
    other = Store(tmp_path / "other.duckdb")
    cached_elsewhere = pull(sandbox, order_ids(world)[:5], store=other)
    with pytest.raises(StoreError, match="pulled with another store"):
        store.snapshot("x", cached_elsewhere)
    with pytest.raises(ConfigError, match="needs a label"):
        store.snapshot(" ", ["nope"])
    with pytest.raises(StoreError, match="no snapshot 'nope'"):
        other.load_snapshot("nope")
    assert store.snapshots().height == 0


def test_settings_never_carry_a_secret(sandbox: Sandbox, world: World, store: Store) -> None:
    settings = settings_for(sandbox)
    result = pull(sandbox, order_ids(world)[:3], store=store, settings=settings)
    sid = store.snapshot(
        "x", result, settings={"token": settings.access_token, "settings": settings}
    )
    text = str(store.load_snapshot(sid).settings)
    assert sandbox.access_token not in text
    assert "**********" in text
