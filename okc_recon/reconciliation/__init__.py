"""Reconciliation: match OKC fulfillments to carrier invoice lines and say what is wrong.

    >>> from okc_recon import Rules, reconcile
    >>> recon = reconcile(fulfillments, lines, period="2025-10")  # doctest: +SKIP
    >>> recon.exceptions  # doctest: +SKIP

The rule book, agreed with the sandbox generator and the workbook, is
``docs/reconciliation.md``: what is matched to what, when each issue code fires, how much
money it puts at stake, and the columns of every frame of the result.
"""

from __future__ import annotations

import inspect
import sys
import types
from typing import Any

from okc_recon.reconcile._engine import reconcile
from okc_recon.reconcile._result import Reconciliation
from okc_recon.reconcile.commitments import Commitments, ServiceCommitment
from okc_recon.reconcile.rules import ISSUE_CODES, Rules

__all__ = [
    "ISSUE_CODES",
    "Commitments",
    "Reconciliation",
    "Rules",
    "ServiceCommitment",
    "reconcile",
]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`reconcile`.

    ``okc_recon.reconcile`` names both this package and the public function. Python sets a
    package's attribute to its subpackage once the subpackage is imported, so after
    ``from okc_recon.reconcile import Rules`` the name ``okc_recon.reconcile`` is this module;
    calling it calls the function, so ``from okc_recon import reconcile`` works in any order.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Reconciliation:
        return reconcile(*args, **kwargs)


_module = sys.modules[__name__]
_module.__class__ = _CallableModule
_module.__signature__ = inspect.signature(reconcile)  # type: ignore[attr-defined]
