"""README.md: a new user's guide that stays true — every setting, rule, issue code and make
target is in it, and its links lead somewhere."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from okc_recon.config import ENV_VARS
from okc_recon.reconciliation import ISSUE_CODES, Rules

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


@pytest.mark.parametrize("variable", [*ENV_VARS, "OKC_PROGRESS"])
def test_every_setting_is_in_the_configuration_table(variable: str) -> None:
    assert re.search(rf"^\| [^|]*`{variable}`", _section("Configuration"), re.M), variable


@pytest.mark.parametrize("rule", [f.name for f in dataclasses.fields(Rules)])
def test_every_rule_is_in_the_configuration_table(rule: str) -> None:
    assert re.search(rf"^\| `{rule}` \| ", _section("Configuration"), re.M), rule


@pytest.mark.parametrize("code", ISSUE_CODES)
def test_every_issue_code_is_explained(code: str) -> None:
    severity = Rules().severity(code)
    assert re.search(rf"^\| `{code}` \| {severity} \| ", _section("Issue codes"), re.M), code


def test_every_make_target_is_named() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z-]+):.*## ", makefile, re.M)
    assert {"setup", "demo", "test", "lint", "bench", "lab", "monthly", "help"} <= set(targets)
    for target in targets:
        assert f"`{target}`" in README or f"make {target}" in README, target


def test_the_two_setup_commands_come_first() -> None:
    setup = _section("Set up")
    assert setup.index("make demo") < setup.index("make test")


def test_links_lead_somewhere() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        for title in re.findall(r"^#+ (.+)$", README, re.M)
    }
    for target in re.findall(r"\]\(([^)]+)\)", README):
        if target.startswith("#"):
            assert target[1:] in anchors, target
        elif not target.startswith("http"):
            assert (ROOT / target).exists(), target
