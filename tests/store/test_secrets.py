"""No label URL, token or password ever reaches the cache: not in any table, not in the
file's bytes."""

from __future__ import annotations

from pathlib import Path

from okc_recon.config import Secret
from okc_recon.sandbox import Sandbox, World
from okc_recon.sandbox._labels import LABEL_HOST
from okc_recon.store import Store
from tests.store.conftest import order_ids, pull, settings_for

TABLES = (
    "store_info",
    "versions",
    "current",
    "orders",
    "order_members",
    "walks",
    "walk_members",
    "statuses",
    "snapshots",
    "snapshot_records",
    "snapshot_files",
)


def everything_in(store: Store) -> str:
    """Every value of every table, as text."""
    with store.open() as session:
        return "\n".join(
            str(session.con.execute(f"SELECT * FROM {table}").fetchall()) for table in TABLES
        )


def test_no_label_url_or_credential_in_the_cache(
    sandbox: Sandbox, world: World, tmp_path: Path
) -> None:
    store = Store(tmp_path / "okc.duckdb")
    login = settings_for(
        sandbox,
        access_token=None,
        username=sandbox.username,
        password=Secret(sandbox.password),
        q_ranges=True,
    )
    result = pull(sandbox, order_ids(world), store=store, settings=login)
    walked = pull(sandbox, store=store, settings=settings_for(sandbox, q_ranges=True))
    pull(sandbox, store=store, settings=settings_for(sandbox, q_ranges=True))  # incremental
    store.snapshot("x", result, settings={"settings": login, "token": login.password})
    store.snapshot("y", walked.fulfillments)

    content = everything_in(store)
    tracking = [t for t in walked.fulfillments["tracking_number"].drop_nulls() if t]
    assert all(t in content for t in tracking)  # what is there can be found
    for secret in (LABEL_HOST, "X-Amz", "label_url", sandbox.access_token, sandbox.password):
        assert secret not in content

    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert str(result.fulfillments["fulfillment_id"][0]).encode() in data
    for secret in (LABEL_HOST, "X-Amz", sandbox.access_token, sandbox.password):
        assert secret.encode() not in data
