"""The local cache of pulled fulfillments, and snapshots that reproduce a run (SPEC §2).

A :class:`Store` is one DuckDB file per OKC environment (``OKC_CACHE_DIR``, one file per
base URL). :func:`~okc_recon.pull_fulfillments` writes every page or batch of orders into
it as it arrives, then re-fetches only what can still change:

- per order: an order whose fulfillments are all final (delivered or canceled) and were
  fetched at least ``lag`` (a day) after their last update is served from the cache;
- list walks: with ``Settings.q_ranges`` (``OKC_Q_RANGES=1``: the server filters ``q`` on
  ``updated_at``; the sandbox does, OKC does not document it) only records updated since
  the last complete walk, less the lag, are read (``≥`` on the boundary, merged by id);
  otherwise the whole list is walked again.

A run records what it used with :meth:`Store.snapshot` and gets it back with
:meth:`Store.load_snapshot`::

    >>> from okc_recon import Store, pull_fulfillments, read_invoices
    >>> store = Store.for_settings(settings)                            # doctest: +SKIP
    >>> result = pull_fulfillments(order_ids, settings=settings, store=store)  # doctest: +SKIP
    >>> invoices = read_invoices("invoices/2025-10/")                   # doctest: +SKIP
    >>> sid = store.snapshot("2025-10", result, invoice_files=invoices.files)  # doctest: +SKIP
    >>> snap = store.load_snapshot(sid)    # .fulfillments == result's  # doctest: +SKIP
    >>> snap.verify_invoice_files()        # StoreError if a file changed  # doctest: +SKIP

DuckDB is imported only when a store is opened. ``label_url`` is never stored, nor any
credential; money stays exact (records are kept as JSON with every digit).
"""

from okc_recon.store._snapshot import Snapshot, file_sha256
from okc_recon.store._store import (
    DEFAULT_LAG,
    FINAL_STATUSES,
    PulledRecords,
    Store,
    final_status_ids,
    is_loopback,
    resolve_store,
)

__all__ = [
    "DEFAULT_LAG",
    "FINAL_STATUSES",
    "PulledRecords",
    "Snapshot",
    "Store",
    "file_sha256",
    "final_status_ids",
    "is_loopback",
    "resolve_store",
]
