"""Progress bars at the edge: a terminal bar, or a widget in Jupyter, or nothing.

Built on :mod:`tqdm.auto`, which picks the notebook widget inside Jupyter and a text bar
elsewhere. A bar only appears once the work has run for ``delay`` seconds (short pulls stay
quiet), never when stderr is not a terminal outside Jupyter (``make monthly`` logs stay
clean), and never when ``enabled`` is false (``progress=False``, ``--no-progress``,
``OKC_PROGRESS=0``).
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

__all__ = ["Progress", "progress_bar"]


class Progress:
    """A progress bar that may be a no-op; ``update(n)``, ``close()``, or ``with``."""

    def __init__(
        self,
        *,
        total: int | None,
        desc: str,
        unit: str,
        enabled: bool = True,
        delay: float = 0.5,
    ) -> None:
        self._bar: Any = None
        if enabled and os.environ.get("OKC_PROGRESS", "1").strip().lower() not in (
            "0",
            "false",
            "no",
            "off",
        ):
            from tqdm.auto import tqdm

            # disable=None: off when the stream is not a terminal (the notebook widget
            # treats None as "on"); delay: no bar at all for work that finishes quickly.
            self._bar = tqdm(
                total=total, desc=desc, unit=unit, disable=None, delay=delay, leave=False
            )

    @property
    def active(self) -> bool:
        """Whether a bar is being drawn (or will be, once ``delay`` has passed)."""
        return self._bar is not None and not self._bar.disable

    def update(self, n: int = 1) -> None:
        """Advance the bar by ``n``."""
        if self._bar is not None:
            self._bar.update(n)

    def set_total(self, total: int) -> None:
        """Change the expected total (e.g. once ``/count`` has answered)."""
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def progress_bar(
    total: int | None, *, desc: str, unit: str = "it", enabled: bool = True, delay: float = 0.5
) -> Progress:
    """A :class:`Progress` for ``total`` steps (``None``: unknown)."""
    return Progress(total=total, desc=desc, unit=unit, enabled=enabled, delay=delay)
