"""The GPU check's Markdown report and its time budget.

The report is a list of blocks (headings, lines, tables that grow a row at a time); every
added row rewrites the whole file atomically (a temporary file beside it, then a rename), so a
run killed at any point leaves a readable report of every row finished so far.

The budget: the check has `seconds` in all. A row states what it expects to cost before it
starts; a row that would not fit is not run and the report says "skipped (budget): ..." in its
place (rows come in order of importance, so the least important are the ones dropped). A row
that runs past the end of the budget (plus a grace) is stopped by an alarm and written as
"stopped (budget): ...". An error in a row is written as "failed: <one line>" in that row and
the check goes on.
"""

import contextlib
import os
import signal
import sys
import tempfile
import time
import traceback
from typing import Callable, List, Optional, Sequence

GRACE_S = 20.0  # how far past the budget a running row may go before the alarm stops it


def one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".strip().rstrip(":")[:300]


class BudgetStop(BaseException):
    """Raised by the alarm in the row that ran past the budget (a BaseException, so that no
    `except Exception` on the way, the worker's graph-capture fallback among them, takes it
    for an error of its own)."""


class Table:
    def __init__(self, report: "Report", columns: Sequence[str]):
        self.report, self.columns, self.rows = report, list(columns), []

    def add(self, *cells) -> None:
        """A row; fewer cells than columns are padded. Flushes the report."""
        cells = [str(c) for c in cells] + [""] * (len(self.columns) - len(cells))
        self.rows.append(cells)
        self.report.row_done()

    def note(self, label: Sequence[str], text: str) -> None:
        """A row whose label cells are followed by a note (skipped, failed) in the next cell."""
        self.add(*label, text)

    def render(self) -> List[str]:
        head = "| " + " | ".join(self.columns) + " |"
        rule = "| " + " | ".join("---" for _ in self.columns) + " |"
        body = ["| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row) + " |"
                for row in self.rows]
        return [head, rule, *body, ""]


class Report:
    """Markdown blocks written to `path` after every row. stop_after: exit (status 3) right
    after that many rows are flushed, as if killed there (the test of row-by-row flushing)."""

    def __init__(self, path: str, stop_after: Optional[int] = None):
        self.path, self.stop_after = os.path.abspath(path), stop_after
        self.blocks: List[object] = []  # str lines or Tables
        self.rows = 0
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)

    def _last(self) -> object:
        return self.blocks[-1] if self.blocks else ""

    def line(self, text: str = "") -> None:
        """A paragraph line (a blank line first when it would run on from a bullet)."""
        last = self._last()
        if text and not text.startswith("- ") and isinstance(last, str) and last.startswith("- "):
            self.blocks.append("")
        self.blocks.append(text)

    def heading(self, level: int, text: str) -> None:
        if self.blocks and self._last() != "" and not isinstance(self._last(), Table):
            self.blocks.append("")
        self.blocks += ["#" * level + " " + text, ""]
        self.flush()

    def table(self, *columns: str) -> Table:
        if self._last() != "" and not isinstance(self._last(), Table):
            self.blocks.append("")
        table = Table(self, columns)
        self.blocks.append(table)
        return table

    def item(self, text: str) -> None:
        """A bullet line that counts as a row (flushed)."""
        last = self._last()
        if isinstance(last, str) and last and not last.startswith("- "):
            self.blocks.append("")
        self.blocks.append(f"- {text}")
        self.row_done()

    def row_done(self) -> None:
        self.rows += 1
        self.flush()
        if self.stop_after is not None and self.rows >= self.stop_after:
            print(f"gpu_check: stopped after {self.rows} rows (--stop-after-rows)",
                  file=sys.stderr)
            os._exit(3)

    def text(self) -> str:
        out: List[str] = []
        for block in self.blocks:
            out += block.render() if isinstance(block, Table) else [block]
        return "\n".join(out).rstrip("\n") + "\n"

    def flush(self) -> None:
        """Write the whole report to a temporary file beside it, then rename it into place.
        (A flush cut short by a signal whose handler flushes again leaves its temporary file:
        the next flush removes it.)"""
        stale, self._tmp = getattr(self, "_tmp", None), None
        if stale and os.path.exists(stale):
            os.unlink(stale)
        fd, tmp = tempfile.mkstemp(prefix=".gpu_check-", suffix=".md",
                                   dir=os.path.dirname(self.path) or ".")
        self._tmp = tmp
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.text())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._tmp = None
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


class Budget:
    """Seconds left for the check, the rows it dropped, and the alarm that stops a row that
    runs past the end."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.perf_counter()
        self.skipped: List[str] = []
        self.stopped: List[str] = []
        self.failed: List[str] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def fits(self, estimate_s: float) -> bool:
        return self.left() >= estimate_s

    def skip_text(self, what: str, estimate_s: float) -> str:
        self.skipped.append(what)
        return (f"skipped (budget): {what} needs ~{estimate_s:.0f} s, "
                f"{max(self.left(), 0):.0f} s left")

    def deadline(self):
        return _Alarm(self.left() + GRACE_S)


class _Alarm:
    """SIGALRM after `seconds` raises BudgetStop in the main thread (POSIX); else nothing."""

    def __init__(self, seconds: float):
        self.seconds = max(seconds, 1.0)
        self.armed = False

    def __enter__(self):
        if hasattr(signal, "setitimer") and _main_thread():
            def ring(signum, frame):
                raise BudgetStop(f"ran past the budget (+{GRACE_S:.0f} s grace)")
            self.previous = signal.signal(signal.SIGALRM, ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.armed = True
        return self

    def __exit__(self, *exc):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def attempt(budget: Budget, what: str, estimate_s: Optional[float], run: Callable[[], object],
            on_note: Callable[[str], None], debug: bool = False):
    """Run one row: skipped when `estimate_s` does not fit (None: a row that always runs, with
    no alarm: the preflight), its error caught. on_note(text) writes a skipped / failed /
    stopped note where the row would have been. -> run()'s value, or None."""
    if estimate_s is not None and not budget.fits(estimate_s):
        on_note(budget.skip_text(what, estimate_s))
        return None
    try:
        with (budget.deadline() if estimate_s is not None else contextlib.nullcontext()):
            return run()
    except BudgetStop as err:
        budget.stopped.append(what)
        budget.seconds = min(budget.seconds, budget.elapsed())  # nothing more fits
        on_note(f"stopped (budget): {what} {err}")
    except Exception as err:  # noqa: BLE001 - the report says what failed, the check goes on
        budget.failed.append(what)
        if debug:
            traceback.print_exc()
        on_note(f"failed: {one_line(err)}")
    return None


def ms(value: Optional[float], digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
