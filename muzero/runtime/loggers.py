"""Metrics rows: reduced from the device (`MetricsWindow`) and written to disk (`MetricsLogger`:
JSONL always, CSV always, TensorBoard when enabled).

Rows are keyed by environment steps. On resume, rows written after the checkpoint the run
restarts from are dropped, so a resumed run's metrics read as one uninterrupted run.
"""

from __future__ import annotations

import csv
import json
import pathlib
from typing import Any

import jax

from muzero.learning.learner import FIRST_NONFINITE_UPDATE, NONFINITE_UPDATES, combine_metrics
from muzero.runtime.stopping import check_finite


class MetricsLogger:
    def __init__(
        self, run_dir: pathlib.Path, tensorboard: bool = True, resume_env_steps: int | None = None
    ):
        self.run_dir = pathlib.Path(run_dir)
        self.jsonl_path = self.run_dir / "metrics.jsonl"
        self.csv_path = self.run_dir / "metrics.csv"
        self.rows: list[dict[str, Any]] = []
        if resume_env_steps is not None and self.jsonl_path.exists():
            kept = [json.loads(line) for line in self.jsonl_path.read_text().splitlines() if line]
            self.rows = [r for r in kept if r.get("env_steps", 0) <= resume_env_steps]
        else:
            self.jsonl_path.unlink(missing_ok=True)
        self._rewrite()
        self.writer = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def _rewrite(self) -> None:
        with self.jsonl_path.open("w") as f:
            for row in self.rows:
                f.write(json.dumps(row) + "\n")
        self._write_csv()

    def _write_csv(self) -> None:
        # The column set can grow (evaluation rows), so the CSV is rewritten whole; it is small.
        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        with self.csv_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def write(self, row: dict[str, Any]) -> None:
        row = {k: (float(v) if not isinstance(v, str) else v) for k, v in row.items()}
        self.rows.append(row)
        with self.jsonl_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self._write_csv()
        if self.writer is not None:
            step = int(row.get("env_steps", 0))
            for key, value in row.items():
                if isinstance(value, float) and "/" in key:
                    self.writer.add_scalar(key, value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class MetricsWindow:
    """Device-side stats of the iterations since the last log row, reduced at flush time."""

    def __init__(self, start: float, counters: dict):
        self.reset(start, counters)

    def reset(self, start: float, counters: dict) -> None:
        self.start = start
        self.start_env_steps = counters["env_steps"]
        self.start_updates = counters["updates"]
        self.stats, self.metrics = [], []
        self.act_s = self.learn_s = 0.0

    def add(self, stats, metrics, act_s: float, learn_s: float) -> None:
        self.stats.append(stats)
        if metrics is not None:
            self.metrics.append(metrics)
        self.act_s += act_s
        self.learn_s += learn_s

    def pending_episodes(self) -> int:
        return int(sum(float(s.episodes) for s in self.stats))

    def flush(self, now: float, counters: dict, elapsed: float) -> dict[str, Any]:
        wall = max(now - self.start, 1e-9)
        row: dict[str, Any] = {
            "env_steps": counters["env_steps"],
            "iterations": counters["iterations"],
            "updates": counters["updates"],
            "elapsed_s": elapsed,
        }
        if self.stats:
            totals = jax.device_get(jax.tree.map(lambda *x: sum(x), *self.stats))
            counters["episodes"] += int(totals.episodes)
            row["episodes"] = counters["episodes"]
            if totals.episodes > 0:
                row["actor/episode_return"] = totals.return_sum / totals.episodes
                row["actor/episode_length"] = totals.length_sum / totals.episodes
            row["actor/env_steps_per_s"] = (counters["env_steps"] - self.start_env_steps) / wall
            row["learner/updates_per_s"] = (counters["updates"] - self.start_updates) / wall
            row["perf/act_fraction"] = self.act_s / wall
            row["perf/learn_fraction"] = self.learn_s / wall
            row["perf/other_fraction"] = max(0.0, 1 - (self.act_s + self.learn_s) / wall)
        if self.metrics:
            combined = jax.device_get(combine_metrics(self.metrics))
            if combined[NONFINITE_UPDATES] == 0:
                del combined[FIRST_NONFINITE_UPDATE]  # no skipped update to name
            row.update({k: v.item() for k, v in combined.items()})
        self.reset(now, counters)
        return row

    def check_finite(self, updates: int) -> None:
        """`stopping.check_finite` over the updates since the last log row."""
        if self.metrics:
            check_finite(jax.device_get(combine_metrics(self.metrics)), updates)
