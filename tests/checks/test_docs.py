from __future__ import annotations

from pathlib import Path

from okc_recon.checks import FULFILLMENT_CHECKS, INVOICE_CHECKS

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- section: checks -->")
    return text[start : text.index("\n## ", start)]


def test_every_check_is_documented_with_its_default_severity() -> None:
    section = _section()
    for checks in (FULFILLMENT_CHECKS, INVOICE_CHECKS):
        for check in checks:
            rows = [line for line in section.splitlines() if line.startswith(f"| `{check.name}`")]
            assert rows, f"README checks section does not document {check.name}"
            assert any(row.rstrip(" |").endswith(check.severity) for row in rows), check.name


def test_the_cli_command_is_documented() -> None:
    assert "okc-recon check --fulfillments" in _section()
