"""A run killed with SIGKILL, between saves or in the middle of one, resumes from its last
checkpoint and loses nothing else."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from muzero.runtime import checkpointing

# Two training processes each (one to two minutes on 2 busy cores): resume itself is covered
# in the default suite by tests/runtime/test_training.py; these add the hard kill, in
# `make test-slow`.
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


# Runs `muzero.cli.train` with orbax's last step of one checkpoint's save held: the rename of
# its temporary folder, the save's commit point. A kill anywhere before the rename leaves the
# same thing, a temporary folder at some stage of writing; holding the last moment before it
# (everything written) makes the kill land inside the save every time, not by luck of timing.
PAUSED_TRAIN = """
import pathlib, sys, time
from orbax.checkpoint._src.path import atomicity

marker, pause_at = pathlib.Path(sys.argv[1]), sys.argv[2]
finalize = atomicity.AtomicRenameTemporaryPath.finalize

async def held_finalize(self):
    final = pathlib.Path(self.get_final())
    if final.parent.name == "checkpoints" and final.name == pause_at:
        marker.write_text(str(self.get()))
        time.sleep(600)
    await finalize(self)

atomicity.AtomicRenameTemporaryPath.finalize = held_finalize
from muzero.cli.train import main
main(sys.argv[3:])
"""


def test_sigkill_during_a_save_then_resume_ends_with_the_same_parameters(smoke_run, tmp_path):
    """Killed while checkpoint 6 is being written (every iteration saves one), the run resumes
    from checkpoint 5, clears the dead save's folder (no later save of step 6 replaces it) and
    ends at iteration 12 with the parameters of the uninterrupted smoke run."""
    from muzero.agent import Agent
    from muzero.runtime import runs, training

    marker = tmp_path / "paused"
    args = ["smoke", "--run.runs-dir", str(tmp_path), "--run.checkpoint-interval-s", "0.001"]
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSED_TRAIN, str(marker), "6", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marker.exists(), "the save of checkpoint 6 never started"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    (run_dir,) = (tmp_path / "smoke").iterdir()
    half_written = run_dir / "checkpoints" / "6.orbax-checkpoint-tmp"
    assert half_written.is_dir() and (half_written / "state").is_dir()
    assert checkpointing.resolve(run_dir)[1] == 5

    config = runs.load_run_config(run_dir)  # from here on, a checkpoint only at the end
    config = config.replace(run=dataclasses.replace(config.run, checkpoint_interval_s=600.0))
    training.run(config, resume=run_dir, evaluate_at_end=False)
    assert not [p for p in (run_dir / "checkpoints").iterdir() if not p.name.isdigit()]
    assert checkpointing.resolve(run_dir)[1] == 12
    resumed, uninterrupted = Agent.load(run_dir).params, Agent.load(smoke_run[0]).params
    for a, b in zip(jax.tree.leaves(uninterrupted), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
