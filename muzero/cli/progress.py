"""Live progress bar (rich) and the end-of-run summary table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from muzero.config import Config


class ProgressDisplay:
    """Shows env steps, episodes, mean return, env steps/s and updates/s while training."""

    def __init__(self, config: Config, enabled: bool = True):
        self.config = config
        self.enabled = enabled
        self.console = Console(stderr=True)
        r = config.run
        # The bar follows whichever stopping limit the config sets (time first).
        if r.time_budget_s > 0:
            self.total, self.unit = r.time_budget_s, "time"
        elif r.max_env_steps > 0:
            self.total, self.unit = float(r.max_env_steps), "steps"
        else:
            self.total, self.unit = float(r.max_iterations), "iterations"
        self.fields = {"steps": 0, "episodes": 0, "ret": "-", "sps": 0.0, "ups": 0.0}
        self.progress = Progress(
            TextColumn(f"[bold]{config.preset}[/]"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn(
                "steps {task.fields[steps]:,}  episodes {task.fields[episodes]:,}  "
                "return {task.fields[ret]}  {task.fields[sps]:,.0f} steps/s  "
                "{task.fields[ups]:,.1f} updates/s"
            ),
            console=self.console,
            disable=not enabled,
            refresh_per_second=4,
        )
        self.task = self.progress.add_task(
            "train",
            total=self.total,
            completed=0.0,  # a resumed run's first update moves the bar to where it stands
            **self.fields,
        )

    def _done(self, elapsed: float, counters: dict[str, int]) -> float:
        if self.unit == "time":
            return min(elapsed, self.total)
        return float(counters["env_steps" if self.unit == "steps" else "iterations"])

    def __enter__(self) -> ProgressDisplay:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def update(self, counters: dict[str, int], elapsed: float, row: dict[str, Any] | None) -> None:
        self.fields["steps"] = counters["env_steps"]
        if row is not None and "eval/error" in row:  # the loop logged it and goes on
            self.console.print(f"evaluation failed, training goes on: {row['eval/error']}")
            row = None
        if row is not None:
            self.fields["episodes"] = counters["episodes"]
            if "actor/episode_return" in row:
                self.fields["ret"] = f"{row['actor/episode_return']:.2f}"
            self.fields["sps"] = row.get("actor/env_steps_per_s", 0.0)
            self.fields["ups"] = row.get("learner/updates_per_s", 0.0)
        self.progress.update(self.task, completed=self._done(elapsed, counters), **self.fields)

    def print_summary(self, summary: dict[str, Any]) -> None:
        """The run's `summary.json` as a table on stdout."""
        table = Table(title=f"{self.config.preset}: {summary['run_dir']}", show_header=False)
        for key in (
            "elapsed_s",
            "env_steps",
            "episodes",
            "updates",
            "act_s",
            "learn_s",
            "other_fraction",
        ):
            value = summary[key]
            table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else f"{value:,}")
        evaluation = summary.get("eval", {})
        if "mean_return" in evaluation:
            table.add_row(
                "eval mean return",
                f"{evaluation['mean_return']:.2f} over {evaluation['episodes']} greedy episodes",
            )
        for name, result in evaluation.items():
            if isinstance(result, dict) and "wins" in result:
                table.add_row(
                    f"eval vs {name}",
                    f"W {result['wins']} / D {result['draws']} / L {result['losses']}",
                )
        errors = summary.get("eval_errors", [])
        if errors:
            table.add_row("eval errors", f"{len(errors)}, the last: {errors[-1]['eval/error']}")
        Console().print(table)
