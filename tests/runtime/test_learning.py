"""Slow tests (`make test-slow`): the presets reach their learning thresholds on CPU, and a
million-frame Atari replay stays within the memory it announces."""

import dataclasses
import json

import pytest

from configs import get_preset
from muzero.runtime import training

pytestmark = pytest.mark.slow


def train(name, tmp_path):
    config = get_preset(name)
    config = config.replace(
        run=dataclasses.replace(config.run, runs_dir=str(tmp_path), progress=False)
    )
    run_dir = training.run(config)
    return json.loads((run_dir / "eval.json").read_text())


def test_tictactoe_never_loses_to_perfect_play(tmp_path):
    result = train("tictactoe", tmp_path)
    assert result["minimax/first"]["losses"] == 0
    assert result["minimax/second"]["losses"] == 0
    assert result["random/first"]["win_rate"] >= 0.90
    assert result["random/second"]["win_rate"] >= 0.70


def test_cartpole_balances(tmp_path):
    result = train("cartpole", tmp_path)
    assert result["mean_return"] >= 475


def test_connect_four_beats_random_in_both_seats(tmp_path):
    result = train("connect_four", tmp_path)
    assert result["random/first"]["win_rate"] >= 0.95
    assert result["random/second"]["win_rate"] >= 0.95


def test_minatar_breakout_scores_ten(tmp_path):
    result = train("minatar_breakout", tmp_path)
    assert result["mean_return"] >= 10  # a uniformly random policy scores under 1


def test_a_million_frame_grayscale_replay_stays_within_its_printed_figure():
    from muzero.cli.bench import bench_replay_memory

    result = bench_replay_memory(1_000_000)  # about 10 GB of memory, 2 minutes
    assert result["frames"] >= 999_000
    assert result["rss_growth_bytes"] >= result["storage_bytes"]  # it really was allocated
    assert result["within"], result
