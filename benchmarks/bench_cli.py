"""Start-up and the demo (SPEC §9, issue 7): ``import okc_recon`` and ``okc-recon --help`` in
≤ 1 s, and ``okc-recon demo`` (the sample month end to end) in under 2 minutes.

Each is a fresh process, as a user meets it; start-up is the best of a few runs, against the
same interpreter doing nothing (``python -c pass``) as the baseline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import Figure, print_table

REPEATS = 5
ROOT = Path(__file__).resolve().parents[1]


def _seconds(argv: list[str], *, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - started


def _best(argv: list[str]) -> float:
    return min(_seconds(argv) for _ in range(REPEATS))


def main() -> list[Figure]:
    python = sys.executable
    baseline = _best([python, "-c", "pass"])
    imported = _best([python, "-c", "import okc_recon"])
    helped = _best([python, "-m", "okc_recon", "--help"])
    print(
        f"python -c pass {baseline:.3f} s; import okc_recon {imported:.3f} s; "
        f"okc-recon --help {helped:.3f} s (best of {REPEATS}); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKC_")}
    env["OKC_PROGRESS"] = "0"
    with tempfile.TemporaryDirectory(prefix="okc-bench-demo-") as out:
        demo = _seconds([python, "-m", "okc_recon", "demo", "--out", out], env=env)
    print(f"okc-recon demo: {demo:.1f} s", flush=True)
    return [
        Figure("cli", "import okc_recon", imported, "s", "≤ 1 s", imported <= 1.0),
        Figure("cli", "okc-recon --help", helped, "s", "≤ 1 s", helped <= 1.0),
        Figure("cli", "baseline: python -c pass", baseline, "s"),
        Figure("cli", "--help over bare start-up", helped / baseline, "×"),
        Figure("cli", "okc-recon demo (sample month)", demo, "s", "< 120 s", demo < 120),
    ]


if __name__ == "__main__":
    print_table(main())
