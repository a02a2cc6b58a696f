"""Why a run stops before its budget, and how it stops without losing anything.

Two things stop a run early:
- a signal: a cluster scheduler sends SIGTERM some seconds before it kills a job, a person
  presses Ctrl-C (SIGINT). The loop finishes the iteration in flight, writes a checkpoint and
  returns, so `--resume` continues as if nothing had happened. A second Ctrl-C stops at once
  (KeyboardInterrupt; the last periodic checkpoint is kept).
- a non-finite learner update (NaN or Inf in the loss, the gradients or the new parameters).
  The update itself is skipped on the device (`muzero.learning.learner`), so nothing
  non-finite reaches the parameters, the optimizer state or the priorities; the loop reads the
  count at its next log row or save, never per update, and stops before it saves again, so
  the last checkpoint on disk holds finite parameters.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import numpy as np

from muzero.learning.learner import FIRST_NONFINITE_UPDATE, NONFINITE_UPDATES


class NonFiniteError(RuntimeError):
    """The learner produced NaN or Inf; the message says which update and what went bad."""


class StopSignals:
    """While entered (in the main thread), SIGTERM and SIGINT set `received` (the signal's
    name) instead of killing the process; the previous handlers come back on exit."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        # Python delivers signals to the main thread only; elsewhere the caller's handlers stay.
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.received = self.received or signal.Signals(signum).name

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def check_finite(metrics: dict[str, Any], updates: int) -> None:
    """Raise `NonFiniteError` if `metrics` (learner metrics combined over some updates, see
    `combine_metrics`) count a skipped update; `updates` is the run's update count."""
    skipped = int(np.asarray(metrics.get(NONFINITE_UPDATES, 0)))
    if skipped == 0:
        return
    first = int(np.asarray(metrics[FIRST_NONFINITE_UPDATE]))
    losses = ", ".join(
        f"{name.removeprefix('learner/')} {float(np.asarray(value)):.4g}"
        for name, value in sorted(metrics.items())
        if name.startswith("learner/") and name not in (NONFINITE_UPDATES, FIRST_NONFINITE_UPDATE)
    )
    raise NonFiniteError(
        f"the learner produced NaN or Inf at update {first + 1} ({skipped} of the updates up "
        f"to {updates} skipped; their means: {losses}); the run stopped without saving, so "
        "its last checkpoint holds finite parameters (a resume may lower "
        "--learner.learning-rate)"
    )
