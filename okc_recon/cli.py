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
