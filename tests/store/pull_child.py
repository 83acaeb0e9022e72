"""A pull in a process of its own, for the kill and concurrency tests.

``python -m tests.store.pull_child BASE_URL TOKEN STORE_FILE IDS_FILE CONCURRENCY``
pulls the order ids listed in IDS_FILE into STORE_FILE and prints the result's summary.
"""

from __future__ import annotations

import sys
from pathlib import Path

from okc_recon.api import pull_fulfillments
from okc_recon.config import Secret, Settings
from okc_recon.store import Store


def main(argv: list[str]) -> int:
    base_url, token, store_file, ids_file, concurrency = argv
    settings = Settings(
        base_url=base_url, access_token=Secret(token), concurrency=int(concurrency), page_size=25
    )
    ids = Path(ids_file).read_text().split()
    result = pull_fulfillments(ids, settings=settings, store=Store(store_file), progress=False)
    print(result.summary(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
