"""The monthly run: pull → checks → reconcile → outputs, as small steps with values in between.

This is the one orchestration of a month. ``okc-recon run``, ``okc-recon demo``,
``make monthly`` and the notebooks all call it, so they do the same thing::

    >>> from okc_recon.monthly import MonthlyRun
    >>> run = MonthlyRun.prepare("2025-10", invoices="invoices/2025-10")  # doctest: +SKIP
    >>> run.pull()            # the month's and the month before's fulfillments
    >>> run.read_invoices()   # invoices dated from the 1st to the grace period after the end
    >>> run.check()           # CheckReport (Great Expectations)
    >>> run.reconcile()       # Reconciliation
    >>> run.write("out/2025-10")   # workbook, Data Docs, Parquet frames, run-info.json

or all of it at once: ``run_month("2025-10", invoices=…, out=…)``. Every step returns a value
that shows itself in a notebook; a step runs the steps it needs when they have not run yet.

Periods (SPEC §6): the pull takes the fulfillments picked up (else created) from the first
day of the month before to the month's last day (UTC dates). OKC documents no date filter on
its list, so the whole list is walked — through the local cache, which re-reads only what
changed when ``Settings.q_ranges`` (``OKC_Q_RANGES=1``) says the server filters ``q`` ranges
on ``updated_at`` (the sandbox does) — and the records are selected here. Invoices are those
dated from the month's first day to ``invoice_grace_days`` (default 45) after its end; an
invoice's date is the latest date on its lines, so a postage statement that starts a few days
before the month counts as the statement it is. ``as_of`` (default: the earlier of today and
the end of the invoice window) dates the checks and the reconciliation and is recorded.

A run that pulled through the cache records a snapshot of the record versions and invoice
files it used; ``MonthlyRun.prepare(from_snapshot=ID)`` (``okc-recon run --from-snapshot
ID``) reproduces that month's workbook with identical cell values.

With no OKC credentials (``OKC_ACCESS_TOKEN``, or ``OKC_USERNAME`` + ``OKC_PASSWORD``) and
``sandbox`` not refused, the run pulls from the embedded sandbox — generated data, never OK
Capsule's — and says so loudly: a log warning, and a banner in every display of the run.
"""

from __future__ import annotations

import calendar
import dataclasses
import html
import json
import logging
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okc_recon.config import Secret, Settings
from okc_recon.errors import ConfigError

if TYPE_CHECKING:
    import polars as pl

    from okc_recon.api import PullResult
    from okc_recon.carriers.invoices import InvoiceSet
    from okc_recon.checks import CheckReport
    from okc_recon.reconciliation import Reconciliation, Rules
    from okc_recon.runinfo import RunInfo
    from okc_recon.sandbox import Sandbox
    from okc_recon.store import Snapshot, Store

__all__ = [
    "SANDBOX_BANNER",
    "InvoiceWindow",
    "MonthlyRun",
    "Period",
    "PulledMonth",
    "RunOutputs",
    "run_month",
    "sample_data_dir",
]

log = logging.getLogger("okc_recon")

#: What every display of a sandbox run starts with.
SANDBOX_BANNER = (
    "LOCAL OKC SANDBOX: generated data, NOT OK Capsule's. No OKC credentials are set "
    "(OKC_ACCESS_TOKEN, or OKC_USERNAME + OKC_PASSWORD, in the environment or .env)."
)

#: The frames ``write`` stores as Parquet (file stem → where it comes from).
PARQUET_FRAMES = (
    "fulfillments",
    "rejected_fulfillments",
    "invoice_lines",
    "invoice_files",
    "rejected_lines",
    "invoices_left_out",
    "shipments",
    "exceptions",
    "unmatched",
    "cannot_reconcile",
    "summary",
    "issue_summary",
    "check_expectations",
    "check_failures",
)

_STYLE = (
    "<style>.okc-run table{border-collapse:collapse;margin:4px 0 10px}"
    ".okc-run th,.okc-run td{padding:2px 8px;text-align:left}"
    ".okc-run .banner{background:#b00020;color:#fff;padding:6px 10px;font-weight:bold}</style>"
)


def _html_banner(sandbox: bool) -> str:
    return f"<div class='banner'>⚠ {html.escape(SANDBOX_BANNER)}</div>" if sandbox else ""


def _html_rows(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def sample_data_dir() -> Path | None:
    """The repository's ``sample_data/`` folder (the sample month), when this is a checkout."""
    folder = Path(__file__).resolve().parent.parent / "sample_data"
    return folder if (folder / "invoices").is_dir() else None


# -- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """The dates of a monthly run of ``month`` (``YYYY-MM``)."""

    month: str
    first: date  # the month's first day
    last: date  # the month's last day
    pull_from: date  # the first day of the month before: fulfillments are pulled from here
    invoices_to: date  # invoices dated up to here belong to the run

    @classmethod
    def of(cls, month: str, *, grace_days: int = 45) -> Period:
        """The period of ``month`` with an invoice grace of ``grace_days`` days."""
        match = re.fullmatch(r"(\d{4})-(\d{2})", str(month).strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ConfigError(f"the month must be YYYY-MM (e.g. 2025-10), got {month!r}")
        year, number = int(match.group(1)), int(match.group(2))
        first = date(year, number, 1)
        last = date(year, number, calendar.monthrange(year, number)[1])
        return cls(
            month=f"{year:04d}-{number:02d}",
            first=first,
            last=last,
            pull_from=(first - timedelta(days=1)).replace(day=1),
            invoices_to=last + timedelta(days=grace_days),
        )

    @property
    def previous_month(self) -> str:
        return self.pull_from.strftime("%Y-%m")

    def describe(self) -> dict[str, str]:
        """The windows as text, for the run's record."""
        return {
            "month": self.month,
            "fulfillments picked up (else created)": f"{self.pull_from} to {self.last}",
            "invoices dated": f"{self.first} to {self.invoices_to}",
        }


# -- step results ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PulledMonth:
    """The pull step: the fulfillments of the month and the month before.

    ``fulfillments`` (``schema.FULFILLMENT_SCHEMA``) and ``rejected`` (records that did not
    parse, with why) hold only the period's records; ``walked`` counts the records the list
    walk returned before the selection. ``source`` says where they came from.
    """

    fulfillments: pl.DataFrame
    rejected: pl.DataFrame
    period: Period
    source: str
    base_url: str | None
    sandbox: bool
    walked: int
    pulls: tuple[PullResult, ...] = field(default=(), repr=False)
    snapshot_id: str | None = None

    def by_month(self) -> pl.DataFrame:
        """Fulfillments per month (of pickup, else creation) and carrier."""
        import polars as pl

        return (
            self.fulfillments.group_by(
                month=_dated().dt.strftime("%Y-%m"), carrier=pl.col("carrier")
            )
            .len("fulfillments")
            .sort("month", "carrier")
        )

    def summary(self) -> str:
        """One line: how many fulfillments of which months, from where."""
        line = (
            f"{self.fulfillments.height:,} fulfillments picked up (else created) "
            f"{self.period.pull_from} to {self.period.last} from {self.source}"
        )
        if self.walked:
            line += f" ({self.walked:,} records walked)"
        if self.rejected.height:
            line += f"; {self.rejected.height:,} rejected records"
        if self.snapshot_id:
            line += f"; snapshot {self.snapshot_id}"
        return line

    def __repr__(self) -> str:
        return f"<PulledMonth {self.summary()}>"

    def _repr_html_(self) -> str:
        return (
            f"<div class='okc-run'>{_STYLE}{_html_banner(self.sandbox)}"
            f"<p><b>Pulled</b> {html.escape(self.summary())}</p>"
            f"{_frame_html(self.by_month())}"
            "<p>frames: <code>.fulfillments</code>, <code>.rejected</code></p></div>"
        )


@dataclass(frozen=True, eq=False)
class InvoiceWindow:
    """The invoices step: what ``read_invoices`` read, narrowed to the run's invoice window.

    ``lines`` are the charge lines of invoices dated in the window; ``left_out`` lists the
    invoices outside it (one row each, with their lines and amount); ``rejected`` and
    ``files`` are :func:`~okc_recon.read_invoices`' (every line of every file accounted for).
    """

    lines: pl.DataFrame
    rejected: pl.DataFrame
    files: pl.DataFrame
    left_out: pl.DataFrame
    period: Period
    folders: tuple[Path, ...]

    def summary(self) -> str:
        """One line: files, lines in the window, lines left out, rejected lines."""
        left = int(self.left_out["lines"].sum()) if self.left_out.height else 0
        line = (
            f"{self.files.height:,} invoice files: {self.lines.height:,} charge lines of "
            f"invoices dated {self.period.first} to {self.period.invoices_to}"
        )
        if left:
            line += f"; {left:,} lines of {self.left_out.height:,} invoices outside it left out"
        if self.rejected.height:
            line += f"; {self.rejected.height:,} lines rejected"
        return line

    def by_carrier(self) -> pl.DataFrame:
        """Invoices, lines and money billed per carrier."""
        import polars as pl

        return (
            self.lines.group_by("carrier")
            .agg(
                invoices=_invoice_key().n_unique(),
                lines=pl.len(),
                amount=pl.col("amount").sum(),
            )
            .sort("carrier")
        )

    def __repr__(self) -> str:
        return f"<InvoiceWindow {self.summary()}>"

    def _repr_html_(self) -> str:
        return (
            f"<div class='okc-run'>{_STYLE}<p><b>Invoices</b> {html.escape(self.summary())}</p>"
            f"{_frame_html(self.by_carrier())}"
            "<p>frames: <code>.lines</code>, <code>.rejected</code>, <code>.files</code>, "
            "<code>.left_out</code></p></div>"
        )


@dataclass(frozen=True)
class RunOutputs:
    """Where :meth:`MonthlyRun.write` put everything."""

    folder: Path
    workbook: Path
    data_docs: Path | None  # index.html of the GX Data Docs
    parquet: Mapping[str, Path]
    run_info: Path  # run-info.json

    def items(self) -> list[tuple[str, str]]:
        """(what, path) pairs, in the order a reader wants them."""
        rows = [("workbook", str(self.workbook))]
        if self.data_docs is not None:
            rows.append(("GX Data Docs", str(self.data_docs)))
        rows.append(("Parquet frames", str(self.folder / "frames")))
        rows.append(("run info (JSON)", str(self.run_info)))
        return rows

    def __repr__(self) -> str:
        return "RunOutputs(" + ", ".join(f"{k}={v}" for k, v in self.items()) + ")"

    def _repr_html_(self) -> str:
        return f"<div class='okc-run'>{_STYLE}<p><b>Written</b></p>{_html_rows(self.items())}</div>"


def _frame_html(frame: pl.DataFrame) -> str:
    # the small summary frames of a run (carriers × months): Polars' own notebook table
    return str(frame._repr_html_())


def _dated() -> pl.Expr:
    """A fulfillment's date for the period: its pickup date, else its creation date (UTC)."""
    import polars as pl

    return pl.coalesce(pl.col("pickup_date"), pl.col("created_at")).dt.date()


def _invoice_key() -> pl.Expr:
    """An invoice: its carrier, account and number; a postage export without numbers: its file."""
    import polars as pl

    return (
        pl.when(pl.col("invoice_number").is_not_null())
        .then(
            pl.concat_str(
                pl.col("carrier"),
                pl.col("account_number").fill_null(""),
                pl.col("invoice_number"),
                separator="|",
            )
        )
        .otherwise(pl.col("source_file"))
    )


# -- the run -----------------------------------------------------------------------------------


def _mapping_spec(mapping: Mapping[str, Any] | str | Path | None) -> dict[str, Any] | None:
    """A column mapping as plain data (validated), so a snapshot can record it."""
    if mapping is None:
        return None
    from okc_recon.carriers.generic import load_mapping

    load_mapping(mapping)  # says what is wrong with it, before any work is done
    if isinstance(mapping, (str, Path)):
        import tomllib

        return tomllib.loads(Path(mapping).read_text(encoding="utf-8-sig"))
    return dict(mapping)


class MonthlyRun:
    """One month's reconciliation, step by step. Build it with :meth:`prepare`.

    The steps store what they return on the run (``.pulled``, ``.invoices``, ``.checks``,
    ``.recon``, ``.outputs``) and run the steps they need first. ``exit_code`` is what the
    command line exits with: 0 clean, 1 exceptions or failed error-severity checks.

        >>> run = MonthlyRun.prepare("2025-10", invoices="invoices/2025-10")  # doctest: +SKIP
        >>> run.reconcile().exceptions  # doctest: +SKIP
    """

    def __init__(
        self,
        period: Period,
        *,
        settings: Settings,
        rules: Rules,
        sandbox: bool | Sandbox,
        invoices: tuple[Path, ...],
        as_of: date,
        store: Store | bool | None = None,
        refresh: bool = False,
        progress: bool = True,
        snapshot: Snapshot | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> None:
        self.period = period
        self.mapping = mapping  # column mapping for invoice files in an unknown layout
        self.settings = settings
        self.rules = rules
        self.sandbox = sandbox is not False
        self.invoice_paths = invoices
        self.as_of = as_of
        self.refresh = refresh
        self.progress = progress
        self.snapshot = snapshot  # the snapshot this run reproduces
        self.pulled: PulledMonth | None = None
        self.invoices: InvoiceWindow | None = None
        self.checks: CheckReport | None = None
        self.recon: Reconciliation | None = None
        self.outputs: RunOutputs | None = None
        self.run_info: RunInfo | None = None
        self.snapshot_id: str | None = snapshot.snapshot_id if snapshot is not None else None
        self._sandbox = sandbox if not isinstance(sandbox, bool) else None
        self._store_option = store
        self._store: Store | None = None  # the cache the pull used, resolved when it runs
        self._scratch: weakref.finalize[Any, Any] | None = None
        self._scratch_dir = Path()

    @property
    def month(self) -> str:
        return self.period.month

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def prepare(
        cls,
        month: str | None = None,
        *,
        invoices: str | Path | Iterable[str | Path] | None = None,
        settings: Settings | None = None,
        rules: Rules | str | Path | None = None,
        sandbox: bool | Sandbox | None = None,
        grace_days: int | None = None,
        as_of: date | str | None = None,
        store: Store | bool | None = None,
        refresh: bool = False,
        progress: bool = True,
        from_snapshot: str | None = None,
        mapping: Mapping[str, Any] | str | Path | None = None,
    ) -> MonthlyRun:
        """A run of ``month`` (``YYYY-MM``), ready to go step by step.

        - ``invoices``: invoice files or folders (any mix of carriers). With the sandbox and
          no invoices, the sandbox's own invoices for the month are written to a scratch
          folder and read; from a snapshot, the files it recorded (checked unchanged).
        - ``settings``: default :meth:`Settings.from_env` (``OKC_*`` variables, ``.env``).
        - ``rules``: a :class:`~okc_recon.Rules`, or the path of a rules TOML file.
        - ``sandbox``: ``None`` uses the embedded sandbox when no credentials are set (and
          says so loudly), ``True`` always, ``False`` never (no credentials is then an
          error); a :class:`~okc_recon.sandbox.Sandbox` of your own (a world, faults) is used
          as it is.
        - ``grace_days``: days after the month's end an invoice may be dated (default the
          rules' ``invoice_grace_days``, 45).
        - ``as_of``: the date of the run (default: the earlier of today and the end of the
          invoice window).
        - ``store``, ``refresh``: the local cache, as for :func:`~okc_recon.pull_fulfillments`
          (by default ``OKC_CACHE_DIR`` for the real API, none for the sandbox). A run that
          pulled through a cache records a snapshot of what it used when it writes.
        - ``from_snapshot``: reproduce a past run: its fulfillments, invoice files, month and
          as-of date come from this snapshot of the cache (``month`` may be left out).
        - ``mapping``: a column mapping (dict or TOML file) for invoice files in a layout
          okc-recon does not know (see :func:`~okc_recon.read_invoices`); recorded with the
          run's snapshot.

        >>> run = MonthlyRun.prepare("2025-10", invoices="invoices/2025-10")  # doctest: +SKIP
        """
        from okc_recon.reconciliation import Rules

        settings = settings if settings is not None else Settings.from_env()
        snapshot = None
        recorded: Mapping[str, Any] = {}
        if from_snapshot is not None:
            if sandbox:
                raise ConfigError("a run from a snapshot pulls nothing: leave the sandbox out")
            snapshot = _load_snapshot(from_snapshot, store, settings)
            recorded = snapshot.settings
            if month is not None and month.strip() != recorded.get("month", snapshot.label):
                raise ConfigError(
                    f"snapshot {from_snapshot} is of {recorded.get('month', snapshot.label)}, "
                    f"not {month}"
                )
            month = str(recorded.get("month", snapshot.label))
            if as_of is None and recorded.get("as_of"):
                as_of = str(recorded["as_of"])
            if grace_days is None and recorded.get("invoice_grace_days") is not None:
                grace_days = int(recorded["invoice_grace_days"])
            if mapping is None and isinstance(recorded.get("mapping"), dict):
                mapping = recorded["mapping"]
            if invoices is None:
                snapshot.verify_invoice_files()
                invoices = [path for path, _ in snapshot.invoice_files]
        if month is None:
            raise ConfigError("which month? give it as YYYY-MM (e.g. 2025-10)")
        if rules is None:
            rules = Rules()
        elif not isinstance(rules, Rules):
            rules = Rules.from_toml(rules)
        if settings.weight_unit != "auto" and rules.weight_unit == "auto":
            rules = rules.replace(weight_unit=settings.weight_unit)
        if grace_days is not None:
            rules = rules.replace(invoice_grace_days=grace_days)
        period = Period.of(month, grace_days=rules.invoice_grace_days)

        use_sandbox: bool | Sandbox
        if snapshot is not None:
            use_sandbox = False
        elif sandbox is None:
            use_sandbox = not settings.has_credentials
        else:
            use_sandbox = sandbox
        if use_sandbox is False and not settings.has_credentials and snapshot is None:
            raise ConfigError(
                "no OKC credentials: set OKC_ACCESS_TOKEN, or OKC_USERNAME and OKC_PASSWORD "
                "(in the environment or a .env file), or run against the sandbox "
                "(--sandbox, SANDBOX=1, sandbox=True)"
            )
        if use_sandbox is not False:
            log.warning("%s The run pulls from the embedded sandbox.", SANDBOX_BANNER)

        paths = _paths(invoices)
        for path in paths:
            if not path.exists():
                raise ConfigError(f"invoices: {path} does not exist")
        if snapshot is not None:
            rules_then = recorded.get("rules")
            if isinstance(rules_then, dict) and rules_then != rules.describe():
                changed = sorted(k for k, v in rules.describe().items() if rules_then.get(k) != v)
                log.warning(
                    "snapshot %s was reconciled with other rules (%s differ): the results "
                    "may differ from the original run",
                    snapshot.snapshot_id,
                    ", ".join(changed),
                )
        return cls(
            period,
            settings=settings,
            rules=rules,
            sandbox=use_sandbox,
            invoices=paths,
            as_of=_as_of(as_of, period),
            store=store,
            refresh=refresh,
            progress=progress,
            snapshot=snapshot,
            mapping=_mapping_spec(mapping),
        )

    # -- steps ---------------------------------------------------------------------------------

    def pull(self) -> PulledMonth:
        """Pull the fulfillments of the month and the month before (see the module docstring).

        Raises :class:`~okc_recon.errors.PullError` when the pull could not return every
        record: a month reconciled against part of OKC's data would be wrong.
        """
        if self.snapshot is not None:
            self.pulled = self._from_snapshot(self.snapshot)
        elif self.sandbox:
            from okc_recon.sandbox import Sandbox

            # a sandbox given to prepare() is the caller's: started if need be, never stopped
            box = self._sandbox or Sandbox(port=0)
            try:
                box.start()
                log.warning("sandbox serving %s (generated data)", box.base_url)
                settings = self.settings.replace(
                    base_url=box.base_url,
                    access_token=Secret(box.access_token),
                    username=None,
                    password=None,
                    page_size=250,
                )
                self.pulled = self._pull(settings, f"the embedded sandbox at {box.base_url}")
            finally:
                if self._sandbox is None:
                    box.stop()
        else:
            self.pulled = self._pull(self.settings, f"OKC at {self.settings.base_url}")
        log.info("%s", self.pulled.summary())
        return self.pulled

    def read_invoices(self) -> InvoiceWindow:
        """Read the invoices and keep those dated in the run's invoice window."""
        import polars as pl

        from okc_recon.carriers.invoices import read_invoices

        if not self.invoice_paths and not self.sandbox:
            raise ConfigError(
                "no invoices: give the folder (or files) of the month's carrier invoices "
                "(MonthlyRun.prepare(…, invoices=…), --invoices, INVOICES=)"
            )
        folders = self.invoice_paths or (self._sandbox_invoices(),)
        read: InvoiceSet = read_invoices(
            *folders, service_map=self.rules.service_map, mapping=self.mapping
        )
        invoice_date = pl.col("invoice_date").max().over(_invoice_key())
        inside = invoice_date.is_null() | invoice_date.is_between(
            self.period.first, self.period.invoices_to
        )
        dated = read.lines.with_columns(__inside=inside)
        left_out = (
            dated.filter(~pl.col("__inside"))
            .group_by(
                "carrier", "account_number", "invoice_number", "source_file", maintain_order=True
            )
            .agg(
                invoice_date=pl.col("invoice_date").max(),
                lines=pl.len(),
                amount=pl.col("amount").sum(),
            )
        )
        undated = read.lines.filter(pl.col("invoice_date").is_null()).height
        if undated:
            log.warning("%d invoice lines have no invoice date: kept in the run", undated)
        if left_out.height:
            log.info(
                "%d invoices dated outside %s to %s left out (%d lines)",
                left_out.height,
                self.period.first,
                self.period.invoices_to,
                int(left_out["lines"].sum()),
            )
        self.invoices = InvoiceWindow(
            lines=dated.filter(pl.col("__inside")).drop("__inside"),
            rejected=read.rejected,
            files=read.files,
            left_out=left_out,
            period=self.period,
            folders=tuple(folders),
        )
        log.info("%s", self.invoices.summary())
        return self.invoices

    def check(self) -> CheckReport:
        """Run the data-quality suites on the fulfillments and the invoice lines."""
        from okc_recon.checks import check_fulfillments, check_invoices

        pulled = self.pulled or self.pull()
        invoices = self.invoices or self.read_invoices()
        report = check_fulfillments(
            pulled.fulfillments,
            as_of=self.as_of,
            weight_unit=self.rules.weight_unit,
            invoice_lines=invoices.lines,
        ).combine(check_invoices(invoices.lines, as_of=self.as_of))
        self.checks = report
        log.info("checks: %s", report.describe())
        return report

    def reconcile(self) -> Reconciliation:
        """Match the fulfillments to the invoice lines (``docs/reconciliation.md``)."""
        from okc_recon.reconciliation import reconcile

        pulled = self.pulled or self.pull()
        invoices = self.invoices or self.read_invoices()
        self.recon = reconcile(
            pulled.fulfillments,
            invoices.lines,
            rules=self.rules,
            period=self.period.month,
            as_of=self.as_of,
        )
        return self.recon

    def write(self, out: str | Path) -> RunOutputs:
        """Write the workbook, GX Data Docs, the frames as Parquet and ``run-info.json``.

        Into ``out``: ``reconciliation-YYYY-MM.xlsx``, ``data-docs/index.html``,
        ``frames/<frame>.parquet`` (see :data:`PARQUET_FRAMES`) and ``run-info.json``. A run
        that pulled through the local cache first records a snapshot of what it used (its id
        is in the workbook's Run info and in ``run-info.json``).
        """
        from okc_recon.excel import write_workbook

        folder = Path(out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the output folder {folder}: {exc.strerror}") from exc
        pulled = self.pulled or self.pull()
        invoices = self.invoices or self.read_invoices()
        checks = self.checks or self.check()
        recon = self.recon or self.reconcile()
        info = self._run_info(pulled, invoices, checks, recon)
        workbook = write_workbook(
            recon,
            folder / f"reconciliation-{self.period.month}.xlsx",
            checks=checks,
            rejected=invoices.rejected,
            invoice_files=invoices.files,
            run_info=info,
        )
        data_docs = None
        if checks.runs:
            written = checks.write_data_docs(folder / "data-docs")
            data_docs = folder / os.path.relpath(written, folder)  # as --out was given
        frames_dir = folder / "frames"
        frames_dir.mkdir(exist_ok=True)
        parquet: dict[str, Path] = {}
        for name, frame in self._frames(pulled, invoices, checks, recon).items():
            path = frames_dir / f"{name}.parquet"
            frame.write_parquet(path)
            parquet[name] = path
        run_info_path = folder / "run-info.json"
        record = info.to_dict()
        record["outputs"] = {
            "workbook": workbook.name,
            "data_docs": os.path.relpath(data_docs, folder) if data_docs else None,
            "parquet": {k: os.path.relpath(v, folder) for k, v in parquet.items()},
        }
        record["sandbox"] = self.sandbox
        record["snapshot_id"] = self.snapshot_id
        record["cache"] = str(self._store.path) if self._store is not None else None
        if self.snapshot is not None:
            record["reproduced_from_snapshot"] = self.snapshot.snapshot_id
            record["reproduced_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        record["exit_code"] = self.exit_code
        run_info_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        self.run_info = info
        self.outputs = RunOutputs(
            folder=folder,
            workbook=workbook,
            data_docs=data_docs,
            parquet=parquet,
            run_info=run_info_path,
        )
        log.info("wrote %s", self.outputs)
        return self.outputs

    def close(self) -> None:
        """Remove the scratch folder of the sandbox's invoices, if one was written (the
        frames read from it stay). Also done when the run is garbage-collected."""
        if self._scratch is not None:
            self._scratch()

    # -- verdict and display -------------------------------------------------------------------

    @property
    def failed_checks(self) -> bool:
        """Whether checks of error severity failed (``False`` before the checks ran)."""
        return self.checks is not None and self.checks.failed_over_threshold("error")

    @property
    def exit_code(self) -> int:
        """0 clean; 1 the reconciliation raised exceptions or error-severity checks failed."""
        has_exceptions = self.recon is not None and self.recon.has_exceptions
        return 1 if has_exceptions or self.failed_checks else 0

    def status(self) -> list[tuple[str, str]]:
        """(step, what it gave) for every step, ``not run yet`` for the rest."""
        return [
            ("month", self.period.month),
            ("fulfillments from", "the embedded sandbox" if self.sandbox else self._okc_source()),
            (
                "pull window",
                f"{self.period.pull_from} to {self.period.last} (pickup, else creation)",
            ),
            ("invoice window", f"{self.period.first} to {self.period.invoices_to}"),
            ("as of", self.as_of.isoformat()),
            ("invoices", ", ".join(str(p) for p in self.invoice_paths) or "the sandbox's own"),
            ("pull", self.pulled.summary() if self.pulled else "not run yet"),
            ("invoices read", self.invoices.summary() if self.invoices else "not run yet"),
            ("checks", self.checks.describe() if self.checks else "not run yet"),
            ("reconcile", _recon_line(self.recon) if self.recon else "not run yet"),
            ("snapshot", self.snapshot_id or "none (no local cache used)"),
            ("outputs", str(self.outputs.folder) if self.outputs else "not written yet"),
        ]

    def __repr__(self) -> str:
        head = f"MonthlyRun({self.period.month}"
        head += ", SANDBOX: generated data)" if self.sandbox else ")"
        return head

    def _repr_html_(self) -> str:
        return (
            f"<div class='okc-run'>{_STYLE}{_html_banner(self.sandbox)}"
            f"<p><b>Monthly run {html.escape(self.period.month)}</b></p>"
            f"{_html_rows(self.status())}</div>"
        )

    # -- internals -----------------------------------------------------------------------------

    def _okc_source(self) -> str:
        if self.snapshot is not None:
            return f"snapshot {self.snapshot.snapshot_id} of the local cache"
        return f"OKC at {self.settings.base_url}"

    def _pull(self, settings: Settings, source: str) -> PulledMonth:
        from okc_recon.api import pull_fulfillments
        from okc_recon.store import resolve_store

        self._store = resolve_store(self._store_option, settings, auto=True)
        result = pull_fulfillments(
            settings=settings,
            all=True,
            progress=self.progress,
            store=self._store if self._store is not None else False,
            refresh=self.refresh,
        ).raise_for_failures()
        return PulledMonth(
            fulfillments=select_period(result.fulfillments, self.period),
            rejected=select_rejected(result.rejected, self.period),
            period=self.period,
            source=source,
            base_url=settings.base_url,
            sandbox=self.sandbox,
            walked=result.records,
            pulls=(result,),
        )

    def _from_snapshot(self, snapshot: Snapshot) -> PulledMonth:
        return PulledMonth(
            fulfillments=select_period(snapshot.fulfillments, self.period),
            rejected=select_rejected(snapshot.rejected, self.period),
            period=self.period,
            source=f"snapshot {snapshot.snapshot_id} ({snapshot.base_url})",
            base_url=snapshot.base_url,
            sandbox=False,
            walked=len(snapshot.records),
            snapshot_id=snapshot.snapshot_id,
        )

    def _sandbox_invoices(self) -> Path:
        """The sandbox's invoices for the month, written once to a scratch folder."""
        from okc_recon.sandbox.sample_month import build_sample_month

        if self._scratch is None:
            folder = Path(tempfile.mkdtemp(prefix="okc-recon-sandbox-"))
            # removed with the run (or by close()); no warning when the process ends first
            self._scratch = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
            self._scratch_dir = folder
        folder = self._scratch_dir
        if not (folder / "invoices").is_dir():
            log.warning(
                "no invoices given: reading the sandbox's own invoices for %s (generated data)",
                self.period.month,
            )
            build_sample_month(folder, month=self.period.month)
        return folder / "invoices"

    def _frames(
        self,
        pulled: PulledMonth,
        invoices: InvoiceWindow,
        checks: CheckReport,
        recon: Reconciliation,
    ) -> dict[str, pl.DataFrame]:
        frames = {
            "fulfillments": pulled.fulfillments,
            "rejected_fulfillments": pulled.rejected,
            "invoice_lines": recon.invoice_lines,
            "invoice_files": invoices.files,
            "rejected_lines": invoices.rejected,
            "invoices_left_out": invoices.left_out,
            "shipments": recon.shipments,
            "exceptions": recon.exceptions,
            "unmatched": recon.unmatched,
            "cannot_reconcile": recon.cannot_reconcile,
            "summary": recon.summary,
            "issue_summary": recon.issue_summary,
            "check_expectations": checks.expectations,
            "check_failures": checks.failures,
        }
        assert tuple(frames) == PARQUET_FRAMES
        return frames

    def _run_info(
        self,
        pulled: PulledMonth,
        invoices: InvoiceWindow,
        checks: CheckReport,
        recon: Reconciliation,
    ) -> RunInfo:
        """The run's record; with a cache, the snapshot is taken here and named in it.

        Reproducing a snapshot gives back the original run's record (when, from where,
        settings) so the workbook is the one the original run wrote; should anything the
        data decides come out different, the new record is used and a note says so.
        """
        from okc_recon.runinfo import InputFile, RunInfo

        notes = []
        if self.sandbox:
            notes.append(SANDBOX_BANNER)
        notes.append(f"fulfillments: {pulled.summary()}")
        notes.append(f"invoices: {invoices.summary()}")
        settings = {
            **self.period.describe(),
            "fulfillments source": pulled.source,
            **recon.rules.describe(),
        }
        rejected_lines = int(invoices.left_out["lines"].sum()) if invoices.left_out.height else 0
        info = RunInfo.create(
            settings=self.settings.replace(base_url=pulled.base_url or self.settings.base_url),
            input_files=InputFile.from_invoice_files(invoices.files),
            rows_in={
                "fulfillments": pulled.fulfillments.height,
                "rejected fulfillment records": pulled.rejected.height,
                "invoice lines": invoices.lines.height,
                "invoice lines left out (outside the window)": rejected_lines,
                "rejected invoice lines": invoices.rejected.height,
            },
            rows_out={
                "shipments": recon.shipments.height,
                "exceptions": recon.exceptions.height,
                "unmatched": recon.unmatched.height,
                "cannot reconcile": recon.cannot_reconcile.height,
                "check failures": checks.failures.height,
            },
            weight=recon.weight_inference or recon.weight_unit,
            extra_settings=settings,
            period=recon.period,
            as_of=recon.as_of,
            notes=notes,
        )
        if self.snapshot is not None:
            return _reproduced(info, self.snapshot)
        if self._store is not None and pulled.pulls and self.snapshot_id is None:
            self.snapshot_id = self._store.snapshot(
                self.period.month,
                pulled.pulls[0],
                invoice_files=invoices.files,
                settings={
                    "month": self.period.month,
                    "as_of": self.as_of.isoformat(),
                    "invoice_grace_days": self.rules.invoice_grace_days,
                    "mapping": self.mapping,
                    "rules": recon.rules.describe(),
                    "run_info": info.to_dict(),
                },
            )
            log.info("snapshot %s of the run recorded in %s", self.snapshot_id, self._store.path)
        if self.snapshot_id is not None:
            info = info.replace(settings={**info.settings, "snapshot": self.snapshot_id})
        return info


def _reproduced(fresh: RunInfo, snapshot: Snapshot) -> RunInfo:
    """The original run's record when this reproduction agrees with it (see ``_run_info``)."""
    from okc_recon.runinfo import RunInfo

    recorded = snapshot.settings.get("run_info")
    if not isinstance(recorded, dict):
        return fresh.replace(settings={**fresh.settings, "snapshot": snapshot.snapshot_id})
    original = RunInfo.from_dict(recorded)
    derived = ("rows_in", "rows_out", "weight_unit", "period", "as_of", "input_files")
    differs = [name for name in derived if getattr(original, name) != getattr(fresh, name)]
    # where the API was and how hard to try do not change results; the rules and windows do
    ignored = {f.name for f in dataclasses.fields(Settings)} | {"fulfillments source"}
    differs += sorted(
        k for k, v in fresh.settings.items() if k not in ignored and original.settings.get(k) != v
    )
    if not differs:
        # the recorded values, in the order this run lists them (the cache sorts its JSON)
        return original.replace(
            rows_in=fresh.rows_in,
            rows_out=fresh.rows_out,
            settings={**original.settings, "snapshot": snapshot.snapshot_id},
        )
    log.warning(
        "the reproduction of snapshot %s differs from the original run in: %s",
        snapshot.snapshot_id,
        ", ".join(differs),
    )
    note = (
        f"reproduced from snapshot {snapshot.snapshot_id} of {snapshot.created_at:%Y-%m-%d}; "
        f"differs from the original run in: {', '.join(differs)}"
    )
    return fresh.replace(
        settings={**fresh.settings, "snapshot": snapshot.snapshot_id},
        notes=(*fresh.notes, note),
    )


def _load_snapshot(snapshot_id: str, store: Store | bool | None, settings: Settings) -> Snapshot:
    from okc_recon.store import Store

    if store is False:
        raise ConfigError("a run from a snapshot needs the local cache (store=False was given)")
    cache = store if isinstance(store, Store) else Store.for_settings(settings)
    return cache.load_snapshot(snapshot_id)


def _recon_line(recon: Reconciliation) -> str:
    return (
        f"{recon.shipments.height:,} shipments, {recon.exceptions.height:,} exceptions, "
        f"{recon.unmatched.height:,} unmatched, {recon.cannot_reconcile.height:,} cannot "
        f"reconcile; weight unit {recon.weight_unit or 'unknown'}"
    )


def _paths(invoices: str | Path | Iterable[str | Path] | None) -> tuple[Path, ...]:
    if invoices is None:
        return ()
    if isinstance(invoices, (str, Path)):
        return (Path(invoices),)
    return tuple(Path(p) for p in invoices)


def _as_of(as_of: date | str | None, period: Period) -> date:
    if isinstance(as_of, datetime):
        return as_of.astimezone(UTC).date() if as_of.tzinfo else as_of.date()
    if isinstance(as_of, date):
        return as_of
    if isinstance(as_of, str):
        try:
            return date.fromisoformat(as_of.strip())
        except ValueError:
            raise ConfigError(f"as_of must be YYYY-MM-DD, got {as_of!r}") from None
    return min(datetime.now(UTC).date(), period.invoices_to)


def select_period(fulfillments: pl.DataFrame, period: Period) -> pl.DataFrame:
    """The fulfillments picked up (else created) from ``period.pull_from`` to its last day."""
    return fulfillments.filter(_dated().is_between(period.pull_from, period.last))


def select_rejected(rejected: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Rejected records of the period: by the month their raw pickup (else creation) date
    names; records with neither are kept (they cannot be placed, and must not vanish)."""
    import polars as pl

    raw = pl.col("raw")
    month = pl.coalesce(
        raw.str.json_path_match("$.pickup_date").str.slice(0, 7),
        raw.str.json_path_match("$.created_at").str.slice(0, 7),
    )
    months = [period.previous_month, period.month]
    return rejected.filter(month.is_null() | month.is_in(months))


def run_month(
    month: str | None = None,
    *,
    invoices: str | Path | Iterable[str | Path] | None = None,
    out: str | Path,
    settings: Settings | None = None,
    rules: Rules | str | Path | None = None,
    sandbox: bool | Sandbox | None = None,
    grace_days: int | None = None,
    as_of: date | str | None = None,
    store: Store | bool | None = None,
    refresh: bool = False,
    progress: bool = True,
    from_snapshot: str | None = None,
    mapping: Mapping[str, Any] | str | Path | None = None,
) -> MonthlyRun:
    """A whole monthly run: prepare, pull, read invoices, check, reconcile, write to ``out``.

    Options as for :meth:`MonthlyRun.prepare`. Returns the run (``.recon``, ``.checks``,
    ``.outputs``, ``.exit_code``).

    >>> run = run_month("2025-10", invoices="invoices/2025-10", out="out/2025-10")  # doctest: +SKIP
    """
    from okc_recon.progress import progress_bar

    run = MonthlyRun.prepare(
        month,
        invoices=invoices,
        settings=settings,
        rules=rules,
        sandbox=sandbox,
        grace_days=grace_days,
        as_of=as_of,
        store=store,
        refresh=refresh,
        progress=progress,
        from_snapshot=from_snapshot,
        mapping=mapping,
    )
    steps: list[tuple[str, Any]] = [
        ("pull", run.pull),
        ("invoices", run.read_invoices),
        ("checks", run.check),
        ("reconcile", run.reconcile),
        ("write", lambda: run.write(out)),
    ]
    with progress_bar(
        len(steps), desc=f"monthly run {run.month}", unit="step", enabled=progress
    ) as bar:
        for _, step in steps:
            step()
            bar.update(1)
    return run
