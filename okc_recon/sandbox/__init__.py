"""The sandbox: a local fake of OKC's API v2 serving generated, deterministic data.

    >>> from okc_recon.sandbox import Faults, Sandbox
    >>> with Sandbox(seed=2025, faults=Faults(latency=0.05)) as sb:   # doctest: +SKIP
    ...     sb.base_url, sb.access_token

:func:`generate` builds the :class:`World` it serves (OKC records, what each carrier billed,
planted problems); the invoice writers and the sample month use the same world.
"""

from okc_recon.sandbox.faults import CURSOR_STYLES, ERROR_SHAPES, Faults
from okc_recon.sandbox.generator import (
    DEFAULT_SEED,
    SAMPLE_MONTH,
    GeneratorConfig,
    fulfillments_for,
    generate,
)
from okc_recon.sandbox.server import DEFAULT_PASSWORD, DEFAULT_USERNAME, Sandbox, SandboxStats
from okc_recon.sandbox.world import BillingEvent, Charge, Invoice, PlantedIssue, World

__all__ = [
    "CURSOR_STYLES",
    "DEFAULT_PASSWORD",
    "DEFAULT_SEED",
    "DEFAULT_USERNAME",
    "ERROR_SHAPES",
    "SAMPLE_MONTH",
    "BillingEvent",
    "Charge",
    "Faults",
    "GeneratorConfig",
    "Invoice",
    "PlantedIssue",
    "Sandbox",
    "SandboxStats",
    "World",
    "fulfillments_for",
    "generate",
]
