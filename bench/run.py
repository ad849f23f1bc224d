"""The company-sized benchmark: every figure of issue 5 beside its bound and its baseline.

    python bench/run.py [--scale S] [--runs N] [--test-all N] [--json PATH]

It generates a database (50,000 employees, 150,000 addresses, 2,000 projects at scale 1)
in a scratch folder, then measures, each in fresh processes (`bench/probes.py`):

- first paint: the program's own start-up (`main()`) against a bare PySide6 window (a
  QMainWindow with one QLabel), from process start to the window's first paint event,
  alternating, `--runs` times each; the median counts. Peak memory likewise.
- filter, select, Add dialog: input events on the shown main window, each timed until
  the resulting repaint is processed; the baseline is the same gesture on plain Qt
  widgets with Qt's own C++ models.
- Test all: `--test-all` addresses against a FaultServer on 127.0.0.1 (its own process)
  that answers every command after 50 ms: from the main window at the configured
  concurrency (default 8), one at a time, and as raw smtplib calls one after another.

These are figures, not tests: nothing here fails a build. Everything it starts listens
on or talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import Sizes, generate, generate_test_all  # noqa: E402
from bench.probes import RESULT_PREFIX  # noqa: E402

COMMAND_DELAY = 0.05
PAINT_RATIO_BOUND = 1.3
MEMORY_HEADROOM_MB = 150.0
INTERACTION_BOUND_MS = 10.0
DIALOG_BOUND_MS = 100.0
GAP_BOUND_MS = 100.0
SPEEDUP_BOUND = 6.0
PROBE_TIMEOUT_S = 900

# Every figure the benchmark reports, in table order (the smoke test checks for each).
FIGURES = (
    "main window first paint",
    "main window employees listed",
    "peak resident memory",
    "filter keystroke (median)",
    "select employee (median)",
    "open Add dialog (median)",
    "open Add dialog (first)",
    "filter projects (median)",
    "Test all, concurrent (whole run)",
    "Test all, one at a time",
    "Test all, longest event-loop gap",
)


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    bound: float | None
    baseline: float | None
    ok: bool | None
    note: str = ""


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def probe(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one probe process and return its result (raises with its stderr if none)."""
    command = [sys.executable, str(BENCH_DIR / "probes.py"), *args]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env or _environment(),
        timeout=PROBE_TIMEOUT_S, check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX):])
            return result
    raise RuntimeError(
        f"probe {args[0]} gave no result (exit {done.returncode}):\n{done.stderr[-3000:]}"
    )


def timed_start(*args: str) -> dict[str, Any]:
    """A first-paint probe, with its times made relative to the moment it was started."""
    started = time.time()
    result = probe(*args)
    for key in ("painted_at", "listed_at"):
        if key in result:
            result[key] = (result[key] - started) * 1000
    return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def at_most(value: float, bound: float | None) -> bool | None:
    return None if bound is None else value <= bound


# Figures ------------------------------------------------------------------------------------


def start_up_figures(db: Path, runs: int) -> tuple[list[Figure], dict[str, float]]:
    bare: list[dict[str, Any]] = []
    main: list[dict[str, Any]] = []
    for _ in range(runs):
        bare.append(timed_start("bare"))
        main.append(timed_start("main", str(db)))
    bare_paint = median([r["painted_at"] for r in bare])
    main_paint = median([r["painted_at"] for r in main])
    listed = median([r["listed_at"] for r in main])
    bare_rss = median([r["peak_rss_mb"] for r in bare])
    main_rss = median([r["peak_rss_mb"] for r in main])
    paint_bound = PAINT_RATIO_BOUND * bare_paint
    figures = [
        Figure("main window first paint", main_paint, "ms", paint_bound, bare_paint,
               at_most(main_paint, paint_bound),
               f"median of {runs}; baseline: bare QMainWindow+QLabel, bound 1.3x"),
        Figure("main window employees listed", listed, "ms", None, bare_paint, None,
               "process start until the list shows employees (no bound in the issue)"),
    ]
    return figures, {"bare_rss": bare_rss, "main_rss": main_rss}


def interaction_figures(db: Path) -> tuple[list[Figure], float]:
    result = probe("interact", str(db))

    def figure(name: str, key: str, bound: float, pick: Any = median, note: str = "") -> Figure:
        value = pick(result[key])
        baseline = pick(result["bare_" + key]) if "bare_" + key in result else None
        return Figure(name, value, "ms", bound, baseline, at_most(value, bound), note)

    figures = [
        figure("filter keystroke (median)", "filter_ms", INTERACTION_BOUND_MS,
               note=f"{len(result['filter_ms'])} keys over {result['employees']} employees; "
                    "baseline: Qt's C++ proxy on a QStringListModel"),
        figure("select employee (median)", "select_ms", INTERACTION_BOUND_MS,
               note="Down key until the address pane is repainted; baseline: bare list"),
        figure("open Add dialog (median)", "dialog_open_ms", DIALOG_BOUND_MS,
               note=f"{result['projects_in_dialog']} projects; baseline: plain QDialog "
                    "with the same project names"),
        figure("open Add dialog (first)", "dialog_open_ms", DIALOG_BOUND_MS,
               pick=lambda values: values[0],
               note="the first opening in the process"),
        figure("filter projects (median)", "project_filter_ms", INTERACTION_BOUND_MS,
               note="baseline: Qt's C++ proxy on a QStringListModel"),
    ]
    return figures, float(result["peak_rss_mb"])


def test_all_figures(scratch: Path, count: int) -> list[Figure]:
    import trustme

    ca = trustme.CA()
    ca_file, cert_file, key_file = (scratch / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_file))
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    leaf.private_key_pem.write_to_path(str(key_file))
    with cert_file.open("wb") as out:
        for pem in leaf.cert_chain_pems:
            out.write(pem.bytes())

    server = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "probes.py"), "server", str(cert_file),
         str(key_file), str(COMMAND_DELAY)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_environment(),
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith(RESULT_PREFIX):
            raise RuntimeError(f"the test server did not start: {line!r}")
        address = json.loads(line[len(RESULT_PREFIX):])
        if address["host"] != "127.0.0.1":
            raise RuntimeError("the test server must listen on 127.0.0.1 only")

        def fresh_db(name: str) -> Path:
            path = scratch / f"{name}.sqlite3"
            generate_test_all(path, count, address["host"], address["port"])
            return path

        concurrent = probe("test-all", str(fresh_db("test-all-gui")), str(ca_file))
        one_by_one = probe("bulk", str(fresh_db("test-all-one")), str(ca_file), "1")
        raw = probe("smtplib", str(fresh_db("test-all-smtplib")), str(ca_file))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    for name, result in (("concurrent", concurrent), ("one at a time", one_by_one),
                         ("smtplib", raw)):
        if result["failed"]:
            raise RuntimeError(f"Test all ({name}) had {result['failed']} failed checks")
    speed_bound = one_by_one["seconds"] / SPEEDUP_BOUND
    return [
        Figure("Test all, concurrent (whole run)", concurrent["seconds"], "s", speed_bound,
               one_by_one["seconds"], at_most(concurrent["seconds"], speed_bound),
               f"{count} addresses, 50 ms per reply, from the main window; baseline: one "
               "at a time; bound: 1/6 of it"),
        Figure("Test all, one at a time", one_by_one["seconds"], "s", None, raw["seconds"],
               None, "run_bulk_check with concurrency 1; baseline: raw smtplib, same steps"),
        Figure("Test all, longest event-loop gap", concurrent["longest_gap_ms"], "ms",
               GAP_BOUND_MS, None, at_most(concurrent["longest_gap_ms"], GAP_BOUND_MS),
               f"longest gap between 10 ms QTimer ticks ({concurrent['ticks']} ticks)"),
    ]


def memory_figure(rss: dict[str, float], interact_rss: float) -> Figure:
    value = max(rss["main_rss"], interact_rss)
    bound = rss["bare_rss"] + MEMORY_HEADROOM_MB
    return Figure("peak resident memory", value, "MiB", bound, rss["bare_rss"],
                  at_most(value, bound),
                  "the larger of start-up and the interaction run; baseline: bare window")


# Output ---------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"


def table(figures: Sequence[Figure]) -> str:
    header = ("figure", "value", "bound", "baseline", "ok")
    rows = [
        (
            f.name,
            f"{_number(f.value)} {f.unit}",
            "—" if f.bound is None else f"≤ {_number(f.bound)} {f.unit}",
            "—" if f.baseline is None else f"{_number(f.baseline)} {f.unit}",
            {True: "yes", False: "NO", None: "—"}[f.ok],
        )
        for f in figures
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def compile_program() -> None:
    """Byte-compile the program first, as an installed program or the bundle has it.

    Without this, a machine with PYTHONDONTWRITEBYTECODE set (CI's is) compiles every
    module of the program from source at each start, which the bare window baseline
    (PySide6 only, already compiled) never pays.
    """
    import compileall

    import mailsettings_desktop

    compileall.compile_dir(Path(mailsettings_desktop.__file__).parent, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="database size as a fraction of 50,000 employees (default 1)")
    parser.add_argument("--runs", type=int, default=7,
                        help="start-ups of each window to take the median of (default 7)")
    parser.add_argument("--test-all", type=int, default=200, metavar="N",
                        help="addresses in the Test all figures (default 200)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the figures as a JSON list to PATH")
    args = parser.parse_args(argv)
    compile_program()

    with tempfile.TemporaryDirectory(prefix="mailsettings-bench-") as folder:
        scratch = Path(folder)
        db = scratch / "company.sqlite3"
        began = time.perf_counter()
        sizes = generate(db, Sizes.at_scale(args.scale))
        print(f"database: {sizes.employees} employees, {sizes.addresses} addresses, "
              f"{sizes.projects} projects, generated in {time.perf_counter() - began:.1f} s",
              flush=True)
        start_up, rss = start_up_figures(db, args.runs)
        interaction, interact_rss = interaction_figures(db)
        test_all = test_all_figures(scratch, args.test_all)
    figures = [start_up[0], start_up[1], memory_figure(rss, interact_rss), *interaction,
               *test_all]
    assert [f.name for f in figures] == list(FIGURES)

    print(table(figures))
    for figure in figures:
        if figure.note:
            print(f"  {figure.name}: {figure.note}")
    if args.json is not None:
        records = [
            {k: v for k, v in asdict(f).items() if k != "note"} for f in figures
        ]
        args.json.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
