"""`--self-test` as CI and admins run it: a separate process, one line out, a clean stderr."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from mailsettings_desktop.core.demo import DEMO_EMPLOYEES
from mailsettings_desktop.core.presets import load_presets

REPORT = re.compile(
    r"self-test ok: qt 6\.\d+\.\d+, keyring \S+ \((usable|not usable: .+)\), "
    rf"{len(load_presets())} presets, {len(DEMO_EMPLOYEES)} demo employees, \d+\.\d s"
)

# Lines a healthy run may print on stderr. Empty on purpose: the self-test filters the one
# harmless offscreen Qt message itself, so anything here is news.
ALLOWED_STDERR: tuple[re.Pattern[str], ...] = ()


def _run_self_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the self-test with the per-user folders pointed into `tmp_path`."""
    environment = {
        **os.environ,
        # platformdirs honours these on Linux; they catch any write to "real" user folders.
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        # A desktop session's platform must not leak in: the self-test forces offscreen.
        "QT_QPA_PLATFORM": "xcb",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "mailsettings_desktop", "--self-test"],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )


def _unexpected(stderr: str) -> list[str]:
    return [
        line for line in stderr.splitlines()
        if line.strip() and not any(p.search(line) for p in ALLOWED_STDERR)
    ]


def test_self_test_passes_with_one_line_report(tmp_path: Path) -> None:
    result = _run_self_test(tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert REPORT.fullmatch(lines[0]), lines[0]
    assert _unexpected(result.stderr) == []


def test_self_test_leaves_user_folders_alone(tmp_path: Path) -> None:
    _run_self_test(tmp_path)

    written = [p for p in tmp_path.rglob("*") if "mailsettings" in p.name]
    assert written == []


def test_self_test_fails_with_reason_when_resources_are_missing(tmp_path: Path) -> None:
    empty = tmp_path / "no-resources"
    empty.mkdir()

    result = _run_self_test(tmp_path, MAILSETTINGS_RESOURCES=str(empty))

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"self-test FAILED: provider presets do not load from {empty / 'providers.json'}: "
    ), lines[0]
    assert _unexpected(result.stderr) == []
