"""The real program start (`main()`), as an admin's double-click runs it, in a subprocess.

`create_main_window` is what most tests use; this one goes through the command line, the
first-paint-then-open sequence and the crash handler, which nothing else exercises.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QListView
app = QApplication(sys.argv[:1])
from mailsettings_desktop import app as program

def poll():
    for window in app.topLevelWidgets():
        employees = window.findChild(QListView, "employeeList")
        if employees is not None and employees.model().rowCount() > 0:
            print("listed", employees.model().rowCount(), flush=True)
            app.exit(0)
            return
    QTimer.singleShot(50, poll)

QTimer.singleShot(50, poll)
QTimer.singleShot(20000, lambda: app.exit(3))
sys.exit(program.main(sys.argv[1:]))
"""


def test_main_opens_the_database_and_lists_the_demo_company(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    db = tmp_path / "start.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, "--db", str(db), "--demo"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "listed 12"
    assert db.exists()
    # The offscreen platform says it cannot raise windows or pass size hints; nothing else
    # may reach stderr.
    offscreen = ("propagateSizeHints", "does not support raise()")
    noise = [line for line in done.stderr.splitlines()
             if line.strip() and not any(text in line for text in offscreen)]
    assert noise == []
    logs = list((tmp_path / "state").rglob("mailsettings.log"))
    assert logs and "starting" in logs[0].read_text(encoding="utf-8")
