"""A run killed with SIGKILL resumes from its last checkpoint and loses nothing else."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from muzero.runtime import checkpointing

# Two training processes (about a minute): resume itself is covered in the default suite by
# tests/runtime/test_training.py; this adds the hard kill, in `make test-slow`.
pytestmark = pytest.mark.slow


def test_sigkill_then_resume_continues_from_the_last_checkpoint(tmp_path):
    args = [
        sys.executable,
        "-m",
        "muzero.cli.train",
        "smoke",
        "--run.runs-dir",
        str(tmp_path),
        "--run.max-iterations",
        "100000",
        "--run.time-budget-s",
        "0",
        "--run.checkpoint-interval-s",
        "1",
    ]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        run_dir = None
        while time.monotonic() < deadline:  # wait for two checkpoints, then kill mid-run
            runs = list((tmp_path / "smoke").glob("*")) if (tmp_path / "smoke").exists() else []
            if runs and (runs[0] / "checkpoints").exists():
                steps = [p for p in (runs[0] / "checkpoints").iterdir() if p.name.isdigit()]
                if len(steps) >= 2:
                    run_dir = runs[0]
                    break
            time.sleep(0.5)
        assert run_dir is not None, "no checkpoint appeared"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    _, step = checkpointing.resolve(run_dir)
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "muzero.cli.train",
            "--resume",
            str(run_dir),
            "--run.max-iterations",
            str(step + 4),
            "--run.checkpoint-interval-s",
            "600",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    # It went on from the checkpoint's iteration, not from zero and not past it.
    assert summary["iterations"] == step + 4
    assert checkpointing.resolve(run_dir)[1] == step + 4
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    env_steps = [row["env_steps"] for row in rows]
    assert env_steps == sorted(env_steps)
