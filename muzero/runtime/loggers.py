"""Metrics to disk: JSONL always, CSV always, TensorBoard when enabled.

Rows are keyed by environment steps. On resume, rows written after the checkpoint the run
restarts from are dropped, so a resumed run's metrics read as one uninterrupted run.
"""

from __future__ import annotations

import csv
import json
import pathlib
from typing import Any


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
