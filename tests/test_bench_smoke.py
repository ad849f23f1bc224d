"""`bench/run.py` works end to end at a tiny size; its figures are not judged here.

The benchmark's bounds hold on a 2-core machine at full size (see README, Performance);
a timing bound in CI would only measure the CI machine, so this checks the shape only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.run import FIGURES

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"name", "value", "unit", "bound", "baseline", "ok"}


def test_bench_runs_at_tiny_scale_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--scale", "0.002", "--runs", "2",
         "--test-all", "10", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert [f["name"] for f in figures] == list(FIGURES)
    for figure in figures:
        assert set(figure) == KEYS, figure
        assert isinstance(figure["value"], float | int), figure
        assert figure["ok"] in (True, False, None), figure
        assert (figure["bound"] is None) == (figure["ok"] is None), figure
    for name in FIGURES:
        assert name in done.stdout
