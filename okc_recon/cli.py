"""The ``okc-recon`` command line: thin commands over the public Python API.

Exit codes: 0 clean; 1 the work ran and found exceptions or failed checks over threshold;
2 usage, configuration or input error (and any error that stopped the work). Errors print
one line; ``--debug`` adds the traceback.

Heavy modules (Polars, Great Expectations, openpyxl) are imported inside the commands so
``okc-recon --help`` stays fast.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from okc_recon._version import __version__
from okc_recon.errors import OkcReconError

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "cli", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="okc-recon")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars; errors only.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Reconcile OK Capsule fulfillments against FedEx, UPS, USPS and DHL invoices."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["quiet"] = quiet
    logging.basicConfig(
        level=logging.DEBUG if debug else (logging.ERROR if quiet else logging.WARNING),
        format="%(levelname)s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``okc-recon`` and ``python -m okc_recon``; exits with the status."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        status = cli.main(args=args, prog_name="okc-recon", standalone_mode=False)
    except click.exceptions.Exit as exc:
        status = exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        status = EXIT_USAGE
    except click.ClickException as exc:
        exc.show()
        status = EXIT_USAGE
    except OkcReconError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        status = EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        status = 130
    except Exception as exc:  # a bug, not a user error: still one line unless --debug
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run again with --debug for the traceback)"
        click.echo(f"error: unexpected {type(exc).__name__}: {exc}{hint}", err=True)
        status = EXIT_USAGE
    sys.exit(status if isinstance(status, int) else EXIT_OK)


def _read_order_ids(path: str) -> list[str]:
    """Order ids from a text file (one per line, ``#`` comments) or a CSV with ``order_id``."""
    import csv
    from pathlib import Path

    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from exc
    rows = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if rows and "order_id" in [c.strip().lower() for c in rows[0].split(",")]:
        return [
            (row.get("order_id") or "").strip()
            for row in csv.DictReader(rows, skipinitialspace=True)
            if (row.get("order_id") or "").strip()
        ]
    return [row.strip() for row in rows]


@cli.command()
@click.option(
    "--order-id", "order_ids", multiple=True, metavar="ID", help="An order to pull (repeatable)."
)
@click.option(
    "--orders-file",
    type=click.Path(dir_okay=False),
    help="Order ids, one per line (or a CSV with an order_id column).",
)
@click.option("--all", "pull_all", is_flag=True, help="Walk the whole fulfillment list instead.")
@click.option("--query", metavar="Q", help='With --all: OKC query filter, e.g. "status_id:3".')
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write: .json (OKC API JSON), .parquet or .csv.",
)
@click.option("--concurrency", type=click.IntRange(1, 64), help="Orders in flight (default 16).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--no-cache", is_flag=True, help="Neither read nor update the local cache.")
@click.option("--refresh", is_flag=True, help="Fetch everything again (and update the cache).")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="The cache folder (default OKC_CACHE_DIR); naming it caches a loopback API too.",
)
@click.pass_context
def pull(
    ctx: click.Context,
    order_ids: tuple[str, ...],
    orders_file: str | None,
    pull_all: bool,
    query: str | None,
    out: str,
    concurrency: int | None,
    no_progress: bool,
    no_cache: bool,
    refresh: bool,
    cache_dir: str | None,
) -> int:
    """Pull fulfillments from the OKC API (OKC_* settings) and write them to --out.

    Only what can still change is fetched: the rest comes from the local cache
    (OKC_CACHE_DIR; not used for a loopback API such as the sandbox unless --cache-dir
    names one). Exit 0 when every order (or page) came back, 1 when some failed (they are
    listed), 2 on usage, configuration, authentication or cache-in-use errors.
    """
    from pathlib import Path

    from okc_recon.api import pull_fulfillments
    from okc_recon.config import Settings
    from okc_recon.store import Store

    target = Path(out)
    if target.suffix.lower() not in (".json", ".parquet", ".csv"):
        raise click.BadParameter("use a .json, .parquet or .csv file", param_hint="--out")
    ids = list(order_ids) + (_read_order_ids(orders_file) if orders_file else [])
    if pull_all and ids:
        raise click.UsageError("give order ids or --all, not both")
    if not pull_all and not ids:
        raise click.UsageError("nothing to pull: give --order-id, --orders-file or --all")
    if query and not pull_all:
        raise click.UsageError("--query filters the list walk: use it with --all")
    if no_cache and (refresh or cache_dir):
        raise click.UsageError("--no-cache leaves the cache alone: drop --refresh/--cache-dir")
    settings = Settings.from_env()
    store: Store | bool | None = None  # the default: OKC_CACHE_DIR for a real API
    if no_cache:
        store = False
    elif cache_dir:
        store = Store.for_settings(settings.replace(cache_dir=Path(cache_dir)))
    result = pull_fulfillments(
        None if pull_all else ids,
        settings=settings,
        all=pull_all,
        q=query,
        concurrency=concurrency,
        progress=not (no_progress or ctx.obj.get("quiet")),
        store=store,
        refresh=refresh,
    )
    written = result.write(target)
    line = f"{result.summary()} → {written}"
    if result.rejected.height:
        rejected_path = written.with_name(f"{written.stem}.rejected.csv")
        result.rejected.write_csv(rejected_path)
        line += f" (rejected records: {rejected_path})"
    click.echo(line)
    if result.ok:
        return EXIT_OK
    for failure in result.failures:
        click.echo(f"failed: {failure}", err=True)
    if result.count_check is not None and result.count_check.missing:
        click.echo(f"incomplete: {result.count_check}", err=True)
    return EXIT_FINDINGS


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="0: any free port.",
)
@click.option("--seed", type=int, help="World seed (default 2025, the sample month's).")
@click.option(
    "--latency", type=click.FloatRange(0), default=0.0, help="Seconds added per response."
)
@click.option(
    "--rate-limit", type=click.FloatRange(0, 1), default=0.0, help="Share of requests answered 429."
)
@click.option(
    "--retry-after",
    default="1",
    show_default=True,
    metavar="S|date|none",
    help="Retry-After on 429: seconds, an HTTP date, or none.",
)
@click.option(
    "--server-errors", type=click.FloatRange(0, 1), default=0.0, help="Share answered 500."
)
@click.option(
    "--drop", type=click.FloatRange(0, 1), default=0.0, help="Share of connections dropped."
)
@click.option(
    "--slow", type=click.FloatRange(0, 1), default=0.0, help="Share answered after 30 seconds."
)
@click.option(
    "--token-ttl", type=click.FloatRange(min=0, min_open=True), help="Issued tokens expire."
)
@click.option("--page-size-cap", type=click.IntRange(1), help="Most records per list page.")
@click.option(
    "--cursor-style",
    type=click.Choice(["next_cursor", "cursor", "next", "pagination", "meta", "none"]),
    default="next_cursor",
    show_default=True,
    help="Where list pages put the next cursor.",
)
@click.option(
    "--error-shape",
    type=click.Choice(["docs", "spec", "validation", "auth"]),
    default="docs",
    show_default=True,
    help="Which of OKC's four error body shapes to answer with.",
)
def sandbox(
    host: str,
    port: int,
    seed: int | None,
    latency: float,
    rate_limit: float,
    retry_after: str,
    server_errors: float,
    drop: float,
    slow: float,
    token_ttl: float | None,
    page_size_cap: int | None,
    cursor_style: str,
    error_shape: str,
) -> int:
    """Serve a local fake of the OKC API with generated data, until Ctrl-C.

    Point OKC_BASE_URL at it and use the printed credentials. The data is generated
    (deterministic for --seed), never OK Capsule's.
    """
    from okc_recon.sandbox import DEFAULT_SEED, Faults, Sandbox

    retry: str | None = None if retry_after.lower() == "none" else retry_after
    try:
        faults = Faults(
            latency=latency,
            rate_limit_rate=rate_limit,
            retry_after=retry,
            server_error_rate=server_errors,
            drop_rate=drop,
            slow_rate=slow,
            slow_seconds=30.0,
            token_ttl=token_ttl,
            page_size_cap=page_size_cap,
            cursor_style=cursor_style,
            error_shape=error_shape,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    box = Sandbox(seed if seed is not None else DEFAULT_SEED, faults=faults, host=host, port=port)
    try:
        box.start()
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    world = box.world
    rule = "=" * 72
    click.echo(
        "\n".join(
            [
                rule,
                "  LOCAL OKC SANDBOX: generated data, NOT OK Capsule's API",
                rule,
                f"  URL        {box.base_url}   (seed {world.seed}: {len(world.orders)} orders, "
                f"{len(world.fulfillments)} fulfillments)",
                f"  username   {box.username}",
                f"  password   {box.password}",
                f"  token      {box.access_token}   (static, never expires)",
                "",
                "  For okc-recon in another shell:",
                f"    export OKC_BASE_URL={box.base_url}",
                f"    export OKC_ACCESS_TOKEN={box.access_token}",
                "",
                "  Ctrl-C stops it.",
                rule,
            ]
        )
    )
    sys.stdout.flush()
    try:
        box.serve_forever()
    except KeyboardInterrupt:
        click.echo("sandbox stopped")
    return EXIT_OK


def _reconcile_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def _mapping_option(command: Any) -> Any:
    return click.option(
        "--mapping",
        "mapping_path",
        type=click.Path(exists=True, dir_okay=False),
        help="A TOML column mapping for invoice files in a layout okc-recon does not know "
        "(README: Carrier invoices).",
    )(command)


def _statuses_option(command: Any) -> Any:
    return click.option(
        "--statuses",
        "statuses_path",
        type=click.Path(exists=True, dir_okay=False),
        help='OKC /v2/statuses JSON naming the status ids (a list, or {"statuses": [...]}); '
        "a .json written by pull carries its own.",
    )(command)


def _load_statuses(path: str | None) -> list[dict[str, Any]] | None:
    """The status records in ``path`` (OKC's /v2/statuses JSON), or ``None`` without one."""
    if path is None:
        return None
    import json

    from okc_recon.errors import ConfigError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--statuses {path}: not readable JSON ({exc})") from exc
    if isinstance(data, dict):
        data = data.get("statuses")
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise ConfigError(
            f'--statuses {path}: expected a list of status records or {{"statuses": [...]}}'
        )
    return data


@cli.command("reconcile")
@click.option(
    "--fulfillments",
    "fulfillments_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="OKC fulfillments: API JSON, or the .parquet/.csv that pull writes.",
)
@click.option(
    "--invoices",
    "invoice_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True),
    help="Carrier invoice files or folders (repeatable).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="BOOK.xlsx (the workbook), or .parquet/.csv: one file per frame beside it.",
)
@click.option(
    "--weight-unit",
    type=click.Choice(["lb", "oz", "kg", "g", "auto"]),
    help="Unit of OKC's weight (default: the rules', auto = inferred from the invoices).",
)
@click.option("--period", metavar="YYYY-MM", help="The month reconciled (prior/later split).")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A rules TOML file (tolerances, markup, surcharges, commitments…).",
)
@click.option("--as-of", metavar="YYYY-MM-DD", help="Date of the run (default: see the rules).")
@_statuses_option
@_mapping_option
def reconcile_command(
    fulfillments_path: str,
    invoice_paths: tuple[str, ...],
    out: str,
    weight_unit: str | None,
    period: str | None,
    rules_path: str | None,
    as_of: str | None,
    statuses_path: str | None,
    mapping_path: str | None,
) -> int:
    """Match fulfillments to carrier invoices; print totals and issues; write --out.

    Exit 0 when there is no exception, 1 when there are, 2 on usage or input errors.
    """
    from pathlib import Path

    from okc_recon.carriers.invoices import read_invoices
    from okc_recon.fulfillments import read_fulfillments
    from okc_recon.reconciliation import Rules, reconcile

    target = Path(out)
    suffix = target.suffix.lower()
    if suffix not in (".xlsx", ".parquet", ".csv"):
        raise click.BadParameter("use a .xlsx, .parquet or .csv file", param_hint="--out")
    rules = Rules.from_toml(rules_path) if rules_path else Rules()
    if weight_unit:
        rules = rules.replace(weight_unit=weight_unit)
    fulfillments = read_fulfillments(fulfillments_path, statuses=_load_statuses(statuses_path))
    invoices = read_invoices(*invoice_paths, service_map=rules.service_map, mapping=mapping_path)
    recon = reconcile(fulfillments, invoices.lines, rules=rules, period=period, as_of=as_of)

    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        from okc_recon.excel import write_workbook
        from okc_recon.runinfo import InputFile, RunInfo

        info = RunInfo.create(
            input_files=(
                InputFile.from_path(
                    fulfillments_path, kind="fulfillments", rows=fulfillments.height
                ),
                *InputFile.from_invoice_files(invoices.files),
                *((InputFile.from_path(rules_path, kind="rules"),) if rules_path else ()),
            ),
            rows_in={"fulfillments": fulfillments.height, "invoice lines": invoices.lines.height},
            rows_out={
                "shipments": recon.shipments.height,
                "exceptions": recon.exceptions.height,
                "unmatched": recon.unmatched.height,
                "cannot reconcile": recon.cannot_reconcile.height,
            },
            weight=recon.weight_inference or recon.weight_unit,
            extra_settings=recon.rules.describe(),
            period=recon.period,
            as_of=recon.as_of,
        )
        written = [
            write_workbook(
                recon,
                target,
                rejected=invoices.rejected,
                invoice_files=invoices.files,
                run_info=info,
            )
        ]
    else:
        written = []
        for name in (
            "exceptions",
            "shipments",
            "invoice_lines",
            "unmatched",
            "cannot_reconcile",
            "summary",
            "issue_summary",
        ):
            path = target.with_name(f"{target.stem}.{name}{suffix}")
            frame = getattr(recon, name)
            if suffix == ".parquet":
                frame.write_parquet(path)
            else:
                frame.write_csv(path)
            written.append(path)

    click.echo(
        f"Reconciliation {recon.period or '(all dates)'} as of {recon.as_of}: "
        f"{fulfillments.height:,} fulfillments, {invoices.lines.height:,} invoice lines; "
        f"weight unit {recon.weight_unit or 'unknown (weight checks skipped)'}"
    )
    header = ["carrier", "shipments", "OKC charges", "billed", "variance", "exceptions", "at stake"]
    rows = [header] + [
        [
            str(row["carrier"]),
            f"{row['shipments']:,}",
            f"{row['okc_charges']:,.2f}",
            f"{row['carrier_billed']:,.2f}",
            f"{row['variance']:,.2f}",
            f"{row['exceptions']:,}",
            f"{row['amount_at_stake']:,.2f}",
        ]
        # one row per carrier: a handful, whatever the data size
        for row in recon.summary.iter_rows(named=True)
    ]
    click.echo(_reconcile_table(rows))
    issues = recon.issue_summary.filter(recon.issue_summary["carrier"] == "all")
    if issues.height:
        rows = [["issue", "severity", "exceptions", "at stake", "refund candidates"]] + [
            [
                str(row["issue_code"]),
                str(row["severity"]),
                f"{row['exceptions']:,}",
                f"{row['amount_at_stake']:,.2f}",
                f"{row['refund_candidate_amount']:,.2f}",
            ]
            for row in issues.iter_rows(named=True)
        ]
        click.echo("")
        click.echo(_reconcile_table(rows))
    click.echo("wrote " + ", ".join(str(p) for p in written))
    return EXIT_FINDINGS if recon.has_exceptions else EXIT_OK


def _check_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@cli.command("check")
@click.option(
    "--fulfillments",
    "fulfillments_path",
    type=click.Path(exists=True, dir_okay=False),
    help="OKC fulfillments: API JSON, or the .parquet/.csv that pull writes.",
)
@click.option(
    "--invoices",
    "invoice_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Carrier invoice files or folders (repeatable); also used to infer the weight unit.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for Great Expectations' Data Docs (index.html) and the results as CSV.",
)
@click.option("--as-of", metavar="DATE", help="Dates after this are in the future (default: now).")
@click.option(
    "--weight-unit",
    type=click.Choice(["lb", "oz", "kg", "g", "auto"]),
    default="auto",
    show_default=True,
    envvar="OKC_WEIGHT_UNIT",
    help="Unit of OKC's weight; auto infers it from the invoices (else weight checks skip).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info"]),
    default="error",
    show_default=True,
    help="Exit 1 when a check of this severity or worse fails.",
)
@_statuses_option
@_mapping_option
def check_command(
    fulfillments_path: str | None,
    invoice_paths: tuple[str, ...],
    out: str | None,
    as_of: str | None,
    weight_unit: str,
    fail_on: str,
    statuses_path: str | None,
    mapping_path: str | None,
) -> int:
    """Check fulfillments and invoice lines with the Great Expectations suites.

    Prints a summary and the failed checks; --out writes GX Data Docs and CSVs of every
    check and every failing record. Exit 0 when no check of --fail-on severity (or worse)
    failed, 1 when one did, 2 on usage or input errors.
    """
    from pathlib import Path

    from okc_recon.carriers.invoices import read_invoices
    from okc_recon.checks import CheckReport, check_fulfillments, check_invoices
    from okc_recon.fulfillments import load_fulfillments

    if not fulfillments_path and not invoice_paths:
        raise click.UsageError("nothing to check: give --fulfillments and/or --invoices")
    invoices = read_invoices(*invoice_paths, mapping=mapping_path) if invoice_paths else None
    lines = invoices.lines if invoices is not None else None
    inputs: list[str] = []
    report: CheckReport | None = None
    rejected_records = None
    if fulfillments_path:
        frame, rejected_records = load_fulfillments(
            fulfillments_path, statuses=_load_statuses(statuses_path)
        )
        inputs.append(
            f"{frame.height:,} fulfillments ({rejected_records.height:,} records did not parse)"
        )
        report = check_fulfillments(
            frame, as_of=as_of, weight_unit=weight_unit, invoice_lines=lines
        )
    if invoices is not None and lines is not None:
        inputs.append(
            f"{lines.height:,} invoice lines from {invoices.files.height:,} "
            f"{'file' if invoices.files.height == 1 else 'files'} "
            f"({invoices.rejected.height:,} lines rejected)"
        )
        checked = check_invoices(lines, as_of=as_of)
        report = checked if report is None else report.combine(checked)
    assert report is not None

    click.echo(f"Data-quality checks as of {report.as_of:%Y-%m-%d %H:%M} UTC: {'; '.join(inputs)}")
    if report.weight_inference is not None:
        click.echo(report.weight_inference.describe())
    elif "fulfillments" in report.rows:
        unit = report.weight_unit or "unknown: weight magnitude checks skipped"
        click.echo(f"weight unit: {unit}")
    # report.warnings were logged (stderr) by the checks themselves
    summary = report.summary()
    columns = ["suite", "rows", "checks", "passed", "failed", "skipped", "failing_records"]
    # one row per suite: a handful, whatever the data size
    click.echo(
        _check_table(
            [[c.replace("_", " ") for c in columns]]
            + [
                [f"{v:,}" if isinstance(v, int) else str(v) for v in row]
                for row in summary.select(columns).rows()
            ]
        )
    )
    failed = report.failed_checks()
    if failed.height:
        rows = [["suite", "check", "severity", "failing rows", "%", "what it checks"]] + [
            [
                str(row["suite"]),
                str(row["expectation"]),
                str(row["severity"]),
                "?" if row["unexpected_count"] is None else f"{row['unexpected_count']:,}",
                "" if row["unexpected_percent"] is None else f"{row['unexpected_percent']:.2f}",
                str(row["description"]),
            ]
            # one row per failed check: at most a few dozen
            for row in failed.iter_rows(named=True)
        ]
        click.echo("")
        click.echo(_check_table(rows))
    if out:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        written = [report.write_data_docs(folder)]
        for name, table in (
            ("check_expectations.csv", report.expectations),
            ("check_failures.csv", report.failures),
        ):
            table.write_csv(folder / name)
            written.append(folder / name)
        if rejected_records is not None and rejected_records.height:
            rejected_records.write_csv(folder / "rejected_fulfillments.csv")
            written.append(folder / "rejected_fulfillments.csv")
        if invoices is not None and invoices.rejected.height:
            invoices.rejected.write_csv(folder / "rejected_invoice_lines.csv")
            written.append(folder / "rejected_invoice_lines.csv")
        click.echo("wrote " + ", ".join(str(p) for p in written))
    over = report.failed_over_threshold(fail_on)  # type: ignore[arg-type]
    return EXIT_FINDINGS if over else EXIT_OK


def _run_report(run: object) -> list[str]:
    """The summary a monthly run prints: where the data came from, totals, issues, outputs."""
    from okc_recon.monthly import SANDBOX_BANNER, MonthlyRun

    assert isinstance(run, MonthlyRun)
    lines: list[str] = []
    rule = "=" * 72
    if run.sandbox:
        lines += [rule, f"  {SANDBOX_BANNER}", rule]
    recon, checks, outputs = run.recon, run.checks, run.outputs
    assert recon is not None
    assert checks is not None
    lines.append(f"Monthly run {run.month} as of {run.as_of}")
    if run.pulled is not None:
        lines.append(f"  fulfillments  {run.pulled.summary()}")
    if run.invoices is not None:
        lines.append(f"  invoices      {run.invoices.summary()}")
    lines.append(f"  checks        {checks.describe()}")
    lines.append(
        f"  weight unit   {recon.weight_unit or 'unknown (weight checks skipped)'}"
        f" — {recon.weight_unit_source}"
    )
    lines.append("")
    header = ["carrier", "shipments", "OKC charges", "billed", "variance", "exceptions", "at stake"]
    rows = [header] + [
        [
            str(row["carrier"]),
            f"{row['shipments']:,}",
            f"{row['okc_charges']:,.2f}",
            f"{row['carrier_billed']:,.2f}",
            f"{row['variance']:,.2f}",
            f"{row['exceptions']:,}",
            f"{row['amount_at_stake']:,.2f}",
        ]
        # one row per carrier: a handful, whatever the data size
        for row in recon.summary.iter_rows(named=True)
    ]
    lines.append(_reconcile_table(rows))
    issues = recon.issue_summary.filter(recon.issue_summary["carrier"] == "all")
    if issues.height:
        rows = [["issue", "severity", "exceptions", "at stake", "refund candidates"]] + [
            [
                str(row["issue_code"]),
                str(row["severity"]),
                f"{row['exceptions']:,}",
                f"{row['amount_at_stake']:,.2f}",
                f"{row['refund_candidate_amount']:,.2f}",
            ]
            # one row per issue code: thirteen at most
            for row in issues.iter_rows(named=True)
        ]
        lines += ["", _reconcile_table(rows)]
    failed = checks.failed_checks("error")
    if failed.height:
        names = ", ".join(str(name) for name in failed["expectation"].unique(maintain_order=True))
        lines += ["", f"failed error-severity checks: {names}"]
    if outputs is not None:
        lines += ["", "Written:"]
        lines += [f"  {what:<16}{where}" for what, where in outputs.items()]
    if run.snapshot is not None:
        lines.append(f"  reproduced from snapshot {run.snapshot.snapshot_id}")
    elif run.snapshot_id:
        lines.append(
            f"  snapshot        {run.snapshot_id} (okc-recon run --from-snapshot "
            f"{run.snapshot_id} --out DIR writes this month's workbook again)"
        )
    return lines


@cli.command("run")
@click.option(
    "--month", metavar="YYYY-MM", help="The month to reconcile (with --from-snapshot: its own)."
)
@click.option(
    "--invoices",
    "invoice_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="The month's carrier invoice files or folders (repeatable). With --sandbox and "
    "none given: the sandbox's own invoices for the month.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the workbook, GX Data Docs, Parquet frames and run-info.json.",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Pull from the embedded sandbox (generated data), not OKC.",
)
@click.option(
    "--from-snapshot",
    metavar="ID",
    help="Reproduce a past run from its snapshot in the local cache (fulfillments, invoice "
    "files, month, as-of date) instead of pulling.",
)
@click.option("--no-cache", is_flag=True, help="Do not use the local cache (OKC_CACHE_DIR).")
@click.option("--refresh", is_flag=True, help="Re-fetch everything (and update the cache).")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="The cache folder (default OKC_CACHE_DIR). The sandbox is never cached.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="A rules TOML file (tolerances, markup, surcharges, commitments…).",
)
@click.option(
    "--grace-days",
    type=click.IntRange(0),
    help="Invoices dated up to this many days after the month belong to it (default 45).",
)
@click.option("--as-of", metavar="YYYY-MM-DD", help="Date of the run (default: see README).")
@click.option(
    "--weight-unit",
    type=click.Choice(["lb", "oz", "kg", "g", "auto"]),
    help="Unit of OKC's weight (default: OKC_WEIGHT_UNIT, else the rules', auto).",
)
@_mapping_option
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.pass_context
def run_command(
    ctx: click.Context,
    month: str | None,
    invoice_paths: tuple[str, ...],
    out: str,
    sandbox: bool,
    from_snapshot: str | None,
    no_cache: bool,
    refresh: bool,
    cache_dir: str | None,
    rules_path: str | None,
    grace_days: int | None,
    as_of: str | None,
    weight_unit: str | None,
    mapping_path: str | None,
    no_progress: bool,
) -> int:
    """The monthly job: pull the month and the one before, check, reconcile, write --out.

    Real OKC credentials come from OKC_* variables or .env; without them it refuses unless
    --sandbox. Pulls go through the local cache, and the run records a snapshot of what it
    used (its id is printed); --from-snapshot ID writes that month's workbook again with
    identical cell values. Exit 0 clean, 1 when there are exceptions or error-severity checks
    failed, 2 on usage, configuration, credential or input errors.
    """
    from pathlib import Path

    from okc_recon.config import Settings
    from okc_recon.monthly import run_month
    from okc_recon.reconciliation import Rules

    if sandbox and from_snapshot:
        raise click.UsageError("--sandbox pulls fresh data; --from-snapshot reuses a pull")
    if not month and not from_snapshot:
        raise click.UsageError("which month? give --month YYYY-MM")
    if not invoice_paths and not (sandbox or from_snapshot):
        raise click.UsageError("give the month's invoices with --invoices DIR")
    if no_cache and (refresh or from_snapshot or cache_dir):
        raise click.UsageError(
            "--no-cache leaves the cache out: no --refresh, --from-snapshot or --cache-dir"
        )
    settings = Settings.from_env()
    if cache_dir:
        settings = settings.replace(cache_dir=Path(cache_dir).expanduser())
    rules = Rules.from_toml(rules_path) if rules_path else Rules()
    if weight_unit:
        rules = rules.replace(weight_unit=weight_unit)
    run = run_month(
        month,
        invoices=invoice_paths or None,
        out=out,
        settings=settings,
        rules=rules,
        sandbox=bool(sandbox),
        grace_days=grace_days,
        as_of=as_of,
        store=False if no_cache else None,
        refresh=refresh,
        progress=not (no_progress or ctx.obj.get("quiet")),
        from_snapshot=from_snapshot,
        mapping=mapping_path,
    )
    click.echo("\n".join(_run_report(run)))
    run.close()
    return run.exit_code


@cli.command("demo")
@click.option(
    "--out",
    default="out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the workbook, GX Data Docs, Parquet frames and run-info.json.",
)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@click.pass_context
def demo_command(ctx: click.Context, out: str, no_progress: bool) -> int:
    """The whole monthly job on the sample month, against the embedded sandbox.

    Starts the sandbox on a free loopback port, pulls the sample month over HTTP, checks
    it, reconciles the sample_data/ invoices, writes --out and compares what it found with
    the sample month's answer key. Exit 0 when it found exactly the planted problems.
    """
    import polars as pl

    from okc_recon.config import Settings
    from okc_recon.monthly import run_month, sample_data_dir
    from okc_recon.sandbox import SAMPLE_MONTH

    sample = sample_data_dir()
    run = run_month(
        SAMPLE_MONTH,
        invoices=sample / "invoices" if sample is not None else None,
        out=out,
        settings=Settings(),  # the demo ignores any OKC_* configuration
        sandbox=True,
        progress=not (no_progress or ctx.obj.get("quiet")),
    )
    click.echo("\n".join(_run_report(run)))
    assert run.recon is not None
    assert run.invoices is not None
    key_path = run.invoices.folders[0].parent / "expected_exceptions.csv"
    key = pl.read_csv(key_path, schema_overrides={"tracking_number": pl.Utf8})
    run.close()
    found = run.recon.exceptions.select("tracking_number", "issue_code").unique()
    missing = key.join(found, on=["tracking_number", "issue_code"], how="anti")
    extra = found.join(key, on=["tracking_number", "issue_code"], how="anti")
    click.echo("")
    if missing.height or extra.height:
        click.echo(
            f"The answer key ({key_path}) differs: {missing.height} planted problems not found, "
            f"{extra.height} found that were not planted.",
            err=True,
        )
        return EXIT_FINDINGS
    click.echo(
        f"The {key.height} problems planted in the sample month were found, and nothing else "
        f"(answer key: {key_path}).\n"
        f"Open {run.outputs.workbook if run.outputs else out} in Excel or LibreOffice; "
        "notebooks: make lab."
    )
    return EXIT_OK


@cli.command("export")
@click.option(
    "--fulfillments",
    "fulfillments_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="OKC fulfillments: API JSON, or the .parquet/.csv that pull writes.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="The Excel file (.xlsx)."
)
@click.option(
    "--carrier",
    "carriers",
    multiple=True,
    type=click.Choice(["fedex", "ups", "usps", "dhl", "other"], case_sensitive=False),
    help="Only this carrier (repeatable).",
)
@click.option("--order-id", "order_ids", multiple=True, metavar="ID", help="Only this order.")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="From this date (inclusive).")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="To this date (inclusive).")
@click.option(
    "--date-field",
    type=click.Choice(["pickup_date", "delivery_date", "created_at", "updated_at"]),
    default="pickup_date",
    show_default=True,
    help="The date --from/--to filter on (UTC dates).",
)
def export_command(
    fulfillments_path: str,
    out: str,
    carriers: tuple[str, ...],
    order_ids: tuple[str, ...],
    start: str | None,
    end: str | None,
    date_field: str,
) -> int:
    """Export fulfillments (filtered by carrier, order, date range) to an Excel table.

    Identifiers stay text, text from OKC is never a formula, tracking URLs are links; an
    Export info sheet records the source and the filters. Exit 0 when written, 2 on usage
    or input errors.
    """
    from okc_recon.export import export_excel, filter_fulfillments
    from okc_recon.fulfillments import read_fulfillments

    frame = read_fulfillments(fulfillments_path)
    subset = filter_fulfillments(
        frame, carrier=carriers, start=start, end=end, order_id=order_ids, date_field=date_field
    )
    about = {"source": fulfillments_path, "source rows": f"{frame.height:,}"}
    if carriers:
        about["carrier"] = ", ".join(c.lower() for c in carriers)
    if order_ids:
        about["order_id"] = ", ".join(order_ids)
    if start or end:
        about[date_field] = f"{start or '…'} to {end or '…'}"
    written = export_excel(subset, out, about=about)
    click.echo(f"{subset.height:,} of {frame.height:,} fulfillments → {written}")
    return EXIT_OK
