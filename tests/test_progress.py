from __future__ import annotations

import io
from typing import ClassVar

import pytest
import tqdm.auto

from okc_recon.progress import progress_bar


class Recorder:
    instances: ClassVar[list[Recorder]] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.disable = False
        self.total = kwargs.get("total")
        self.n = 0
        self.closed = False
        Recorder.instances.append(self)

    def update(self, n):
        self.n += n

    def refresh(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def recorder(monkeypatch):
    Recorder.instances = []
    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    monkeypatch.delenv("OKC_PROGRESS", raising=False)
    return Recorder


def test_enabled_bar_counts_and_closes(recorder):
    with progress_bar(10, desc="orders", unit="order") as bar:
        bar.update(3)
        bar.update()
        bar.set_total(12)
        assert bar.active
    [made] = recorder.instances
    assert made.n == 4
    assert made.total == 12
    assert made.closed
    # off when stderr is not a terminal (disable=None), and only after a short delay
    assert made.kwargs["disable"] is None
    assert made.kwargs["delay"] > 0


def test_disabled_bar_is_a_no_op(recorder):
    bar = progress_bar(10, desc="orders", enabled=False)
    bar.update(5)
    bar.close()
    assert not bar.active
    assert recorder.instances == []


@pytest.mark.parametrize("value", ["0", "false", "off", "No"])
def test_environment_switch(recorder, monkeypatch, value):
    monkeypatch.setenv("OKC_PROGRESS", value)
    progress_bar(3, desc="x").update(1)
    assert recorder.instances == []


def test_real_tqdm_on_a_non_terminal_stream_draws_nothing(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with progress_bar(3, desc="orders", delay=0) as bar:
        bar.update(3)
        assert not bar.active
    assert stream.getvalue() == ""
