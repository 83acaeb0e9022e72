import subprocess
import sys

import pytest

import okc_recon


def test_all_is_sorted_and_complete():
    assert okc_recon.__all__ == sorted(okc_recon.__all__)
    assert set(okc_recon._LAZY) <= set(okc_recon.__all__)
    for name in okc_recon.__all__:
        assert getattr(okc_recon, name) is not None, name


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no_such_name"):
        okc_recon.no_such_name  # noqa: B018


def test_import_is_light():
    """`import okc_recon` must not pull in the heavy optional layers (SPEC §9 import time)."""
    code = (
        "import sys, okc_recon; "
        "heavy = [m for m in ('great_expectations', 'openpyxl', 'duckdb', 'pandas', 'polars') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
