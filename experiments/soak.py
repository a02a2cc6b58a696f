"""Soak: does a long run's memory stay flat once its replay is full?

`make soak` (not part of `make test`) trains the `connect_four` preset for an hour in a child
process (`python -m muzero.cli.train`) and samples that process's resident memory (VmRSS,
/proc/<pid>/status) every minute. EfficientZero's memory kept growing after its buffer was
full (its issue #26); here, once the replay is full, nothing should grow.

Writes into the run directory `memory.csv` (elapsed_s, rss_bytes, env_steps, replay_full per
sample) and `memory.json` (the summary), and prints one line: memory at the first sample with
the replay full against the maximum after it, and whether that stayed within 5%. Exit status
1 when it did not. A measurement, not a paper reproduction: no results folder.

  make soak                                    # one hour, a sample a minute
  make soak SOAK_SECONDS=180 SOAK_INTERVAL=10  # a three-minute check that the target works
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from muzero.cli.common import OneLineParser, fail, write_csv  # noqa: E402

TOLERANCE = 0.05  # the bound: within 5% of the level when the replay filled


def rss_of(pid: int) -> int | None:
    """Resident set size of process `pid` in bytes (Linux), None once it has exited."""
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def last_env_steps(run_dir: pathlib.Path | None) -> int:
    """Env steps of the run's newest metrics row (0 before the first)."""
    path = run_dir / "metrics.jsonl" if run_dir else None
    if path is None or not path.exists():
        return 0
    lines = path.read_text().splitlines()
    for line in reversed(lines):
        try:
            return int(json.loads(line)["env_steps"])
        except (ValueError, KeyError):
            continue  # a row being written
    return 0


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """RSS at the first sample with the replay full, the maximum from there on, and whether
    that maximum stayed within TOLERANCE of it."""
    full = [s for s in samples if s["replay_full"]]
    if not full:
        return {"samples": len(samples), "replay_full": False}
    at_full, peak = full[0]["rss_bytes"], max(s["rss_bytes"] for s in full)
    growth = peak / at_full - 1
    return {
        "samples": len(samples),
        "replay_full": True,
        "replay_full_at_s": full[0]["elapsed_s"],
        "rss_at_full_bytes": at_full,
        "rss_max_after_bytes": peak,
        "samples_after_full": len(full) - 1,
        "growth": growth,
        "within_tolerance": growth <= TOLERANCE,
    }


def summary_line(preset: str, seconds: float, summary: dict[str, Any]) -> str:
    head = f"soak: {preset}, {seconds:g} s, {summary['samples']} samples"
    if not summary["replay_full"]:
        return f"{head}: the replay never filled, so nothing to compare; run longer"
    mb = 1e6
    verdict = "within" if summary["within_tolerance"] else "NOT within"
    return (
        f"{head}: RSS {summary['rss_at_full_bytes'] / mb:.0f} MB when the replay was full "
        f"(at {summary['replay_full_at_s']:.0f} s), max {summary['rss_max_after_bytes'] / mb:.0f}"
        f" MB over the {summary['samples_after_full']} samples after "
        f"({summary['growth']:+.1%}): {verdict} {TOLERANCE:.0%}"
    )


def find_run(runs: pathlib.Path, before: set[pathlib.Path]) -> pathlib.Path | None:
    new = sorted(set(runs.glob("*")) - before) if runs.exists() else []
    return new[0] if new and (new[0] / "config.json").exists() else None


def sample(process: subprocess.Popen, runs: pathlib.Path, interval: float) -> tuple:
    """Sample the child every `interval` s until it exits; returns (run dir, samples)."""
    before = set(runs.glob("*")) if runs.exists() else set()
    start, samples, run_dir, full_at = time.monotonic(), [], None, None
    next_sample = start + interval
    while process.poll() is None:
        time.sleep(min(1.0, max(0.0, next_sample - time.monotonic())))
        if run_dir is None and (run_dir := find_run(runs, before)) is not None:
            from muzero.runtime.runs import load_run_config

            config = load_run_config(run_dir)
            full_at = config.replay_steps_per_env * config.actor.num_envs
        if time.monotonic() < next_sample or (rss := rss_of(process.pid)) is None:
            continue
        env_steps = last_env_steps(run_dir)
        samples.append(
            {
                "elapsed_s": round(time.monotonic() - start, 1),
                "rss_bytes": rss,
                "env_steps": env_steps,
                "replay_full": full_at is not None and env_steps >= full_at,
            }
        )
        next_sample += interval
    return run_dir, samples


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python experiments/soak.py", description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="connect_four", help="preset to train (connect_four)")
    p.add_argument("--seconds", type=float, default=3600.0, help="training time budget (3600)")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between samples (60)")
    p.add_argument("--runs-dir", type=pathlib.Path, default=pathlib.Path("runs/soak"))
    args, train_flags = p.parse_known_args(argv)
    if args.seconds <= 0 or args.interval <= 0:
        fail("--seconds and --interval must be > 0")
    command = [sys.executable, "-m", "muzero.cli.train", args.preset, "--run.time-budget-s",
               str(args.seconds), "--run.runs-dir", str(args.runs_dir), "--run.no-progress",
               *train_flags]  # fmt: skip
    process = subprocess.Popen(command)
    run_dir, samples = sample(process, args.runs_dir / args.preset, args.interval)
    if process.returncode != 0:
        fail(f"the training process ended with status {process.returncode}")
    if run_dir is None or not samples:
        fail(f"no sample was taken: the run ended before the first {args.interval:g} s passed")
    summary = summarize(samples) | {"command": command}
    write_csv(run_dir / "memory.csv", samples)
    (run_dir / "memory.json").write_text(json.dumps(summary, indent=2))
    print(summary_line(args.preset, args.seconds, summary))
    print(f"wrote {run_dir / 'memory.csv'} and memory.json")
    return 0 if summary.get("within_tolerance", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
