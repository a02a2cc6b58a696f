"""A run stops early without losing anything: on SIGTERM or Ctrl-C it saves the iteration in
flight, and on a non-finite learner update it stops before saving anything non-finite."""

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

from configs import get_preset
from muzero.agent import load_params
from muzero.runtime import checkpointing, training
from muzero.runtime.stopping import NonFiniteError, StopSignals


def test_stop_signals_set_a_flag_and_a_second_ctrl_c_stops_at_once():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.received == "SIGTERM"
        os.kill(os.getpid(), signal.SIGTERM)  # a repeated SIGTERM changes nothing
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_non_finite_update_stops_the_run_before_it_saves(tmp_path):
    """A learning rate that overflows the parameters: the run must stop with an error naming
    the update, and every checkpoint it wrote must hold finite parameters."""
    base = get_preset("smoke")
    config = base.replace(
        learner=dataclasses.replace(base.learner, learning_rate=1e38, warmup_steps=1),
        run=dataclasses.replace(
            base.run, runs_dir=str(tmp_path), checkpoint_interval_s=1e-6, log_interval_s=1e3
        ),
    )
    with pytest.raises(NonFiniteError, match=r"NaN or Inf at update \d+ \("):
        training.run(config, evaluate_at_end=False)
    (run_dir,) = (tmp_path / "smoke").iterdir()
    steps = checkpointing.snapshot_steps(run_dir)
    assert steps and max(steps) < 12
    for step in steps:
        params = load_params(run_dir, step, config)
        assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params)), step


def test_sigterm_finishes_the_iteration_and_writes_a_checkpoint(tmp_path):
    """What a cluster scheduler does before it kills a job."""
    process = subprocess.Popen(
        [sys.executable, "-m", "muzero.cli.train", "smoke", "--run.max-iterations", "100000",
         "--run.checkpoint-interval-s", "1000", "--run.snapshot-interval-s", "0",
         "--run.runs-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    metrics = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        found = list(tmp_path.glob("smoke/*/metrics.jsonl"))
        if found and found[0].read_text().count("\n") >= 2:  # past compile, well in the loop
            metrics = found[0]
            break
        time.sleep(0.2)
    assert metrics is not None, process.communicate()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    run_dir = metrics.parent
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_by"] == "SIGTERM" and "eval" not in summary
    assert checkpointing.resolve(run_dir)[1] == summary["iterations"] > 0
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("stopped by SIGTERM after iteration ") and str(run_dir) in last
