"""Progress of long work on the command line: a bar on stderr when stderr is a terminal.

Services that take a while accept `progress`, a plain callable they call as they go
with (done, total, note); they know nothing of terminals. Commands pass a `ProgressBar`,
which draws click's progress bar on a terminal and nothing at all otherwise (cron
mail and CI logs get only the command's summary line).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO

import click

Progress = Callable[..., None]   # progress(done: int, total: int, note: str = "")


def _terminal() -> IO[str] | None:
    """Where to draw: stderr when it is a terminal, else nowhere."""
    stream = sys.stderr
    return stream if stream is not None and stream.isatty() else None


def report(progress: Progress | None, done: int, total: int, note: str = "") -> None:
    """Tell `progress`, if any, how far the work has come."""
    if progress is not None:
        progress(done, total, note)


class ProgressBar:
    """A `Progress` for a command: `with ProgressBar("Sweeping") as bar: run(progress=bar)`."""

    def __init__(self, label: str, stream: IO[str] | None = None):
        self.label = label
        self.stream = stream if stream is not None else _terminal()
        self.note = ""
        self.done = self.total = 0   # the last report, for the command's summary
        self._bar = None
        self._done = 0

    def __call__(self, done: int, total: int, note: str = "") -> None:
        self.done, self.total, self.note = done, total, note
        if self.stream is None:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=max(total, 1), label=self.label,
                                          file=self.stream, show_pos=True, show_percent=True,
                                          show_eta=False,
                                          item_show_func=lambda _: self.note or None)
            self._bar.__enter__()
        if done > self._done:
            self._bar.update(done - self._done)
            self._done = done
        else:
            self._bar.render_progress()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None
