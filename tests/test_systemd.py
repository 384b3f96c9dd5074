"""The shipped unit passes `systemd-analyze verify` (when the tool exists here)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "mailbot.service"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_verifies(tmp_path):
    # Point ExecStart at this virtualenv's mailbot so the "is executable" check can pass here.
    mailbot = Path(sys.executable).with_name("mailbot")
    unit = tmp_path / "mailbot.service"
    unit.write_text(UNIT.read_text().replace("/opt/mailbot/.venv/bin/mailbot", str(mailbot)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Unknown key" not in output and "Unknown section" not in output


def test_unit_is_hardened():
    text = UNIT.read_text()
    for line in ("DynamicUser=yes", "StateDirectory=mailbot", "ConfigurationDirectory=mailbot",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "Restart=on-failure"):
        assert line in text
