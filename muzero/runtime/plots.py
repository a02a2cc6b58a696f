"""A run's learning curves as one PNG (`curves.png` in the run directory)."""

from __future__ import annotations

import json
import pathlib

PANELS = (
    ("actor/episode_return", "self-play return (player 0)"),
    ("learner/loss", "training loss"),
    ("learner/value_error", "|value target - prediction|"),
    ("actor/env_steps_per_s", "env steps / s"),
)


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (no display on CI or a GPU host)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: pathlib.Path, dpi: int = 120) -> None:
    """Lay out, write and close a figure (closed, so long runs do not pile up figures)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)


def plot_run(run_dir: pathlib.Path) -> pathlib.Path | None:
    """Plot the run's metrics against wall time; returns the PNG path (None if no rows)."""
    plt = pyplot()
    run_dir = pathlib.Path(run_dir)
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return None
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    eval_keys = sorted(
        {
            k
            for r in rows
            for k in r
            if k.startswith("eval/") and ("win_rate" in k or "mean_return" in k)
        }
    )
    panels = [p for p in PANELS if any(p[0] in r for r in rows)]
    if eval_keys:
        panels.append(("eval", "evaluation"))
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        keys = eval_keys if key == "eval" else [key]
        for k in keys:
            points = [(r["elapsed_s"], r[k]) for r in rows if k in r]
            ax.plot(
                *zip(*points, strict=True),
                marker="o" if key == "eval" else None,
                markersize=3,
                label=k.removeprefix("eval/"),
            )
        ax.set_title(title)
        ax.set_xlabel("wall time (s, compile included)")
        ax.grid(alpha=0.3)
        if key == "eval":
            ax.legend(fontsize=7)
    fig.suptitle(run_dir.as_posix())
    out = run_dir / "curves.png"
    save_figure(fig, out, dpi=110)
    return out
