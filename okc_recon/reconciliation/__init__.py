"""Reconciliation: match OKC fulfillments to carrier invoice lines and say what is wrong.

    >>> from okc_recon import Rules, reconcile
    >>> recon = reconcile(fulfillments, lines, period="2025-10")  # doctest: +SKIP
    >>> recon.exceptions  # doctest: +SKIP

The rule book, agreed with the sandbox generator and the workbook, is
``docs/reconciliation.md``: what is matched to what, when each issue code fires, how much
money it puts at stake, and the columns of every frame of the result.
"""

from __future__ import annotations

from okc_recon.reconciliation._engine import reconcile
from okc_recon.reconciliation._result import Reconciliation
from okc_recon.reconciliation.commitments import Commitments, ServiceCommitment
from okc_recon.reconciliation.rules import ISSUE_CODES, Rules

__all__ = [
    "ISSUE_CODES",
    "Commitments",
    "Reconciliation",
    "Rules",
    "ServiceCommitment",
    "reconcile",
]
