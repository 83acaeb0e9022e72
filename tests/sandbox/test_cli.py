"""``okc-recon sandbox``: serves until Ctrl-C, says loudly what it is, validates its options."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest
from click.testing import CliRunner

from okc_recon.cli import EXIT_USAGE, cli, main


def test_sandbox_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "okc_recon", "sandbox", "--port", "0", "--latency", "0.01"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(banner)
        assert "LOCAL OKC SANDBOX" in text
        assert "NOT OK Capsule" in text
        url = re.search(r"export OKC_BASE_URL=(\S+)", text)
        token = re.search(r"export OKC_ACCESS_TOKEN=(\S+)", text)
        assert url is not None
        assert token is not None
        assert "sandbox-password" in text
        response = httpx.get(
            f"{url.group(1)}/v2/fulfillments/count",
            headers={"Authorization": f"Bearer {token.group(1)}"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["count"] > 4000
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "sandbox stopped" in out


def test_sandbox_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    runner = CliRunner()
    help_text = runner.invoke(cli, ["sandbox", "--help"]).output
    for option in ("--port", "--seed", "--rate-limit", "--retry-after", "--cursor-style"):
        assert option in help_text
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "--rate-limit", "0.7", "--server-errors", "0.6"])
    assert exit_info.value.code == EXIT_USAGE
    assert "must not exceed 1" in capsys.readouterr().err
    assert runner.invoke(cli, ["sandbox", "--cursor-style", "links"]).exit_code == EXIT_USAGE
