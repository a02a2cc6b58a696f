"""Every experiment script runs end to end in its tiny mode, so none of them rots.

The board-game experiments reuse the session's smoke run (`--run`) instead of training; the
other three train two tiny runs each (40-60 s, mostly compiling, on 2 cores)."""

import importlib

import pandas as pd
import pytest


def check_folder(folder, figures=1):
    report = (folder / "report.md").read_text()
    for heading in ("## Setup", "## Result", "## Published", "## Established", "## Unknown"):
        assert heading in report
    assert "- commit: `" in report and "- command: `" in report
    csvs = sorted((folder / "data").glob("*.csv"))
    assert csvs and all(len(pd.read_csv(path)) > 0 for path in csvs)
    assert len(sorted((folder / "figures").glob("*.png"))) >= figures


# The two board-game experiments (25-50 s each) play many rated games with the evaluation code
# tests/evaluation covers unit by unit; their tiny runs are in `make test-slow`.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param("search_scaling", marks=pytest.mark.slow),
        pytest.param("learned_vs_true_model", marks=pytest.mark.slow),
    ],
)
def test_board_game_experiment_tiny(name, smoke_run, tmp_path):
    module = importlib.import_module(f"experiments.{name}")
    folder = module.main(["--tiny", "--run", str(smoke_run[0]), "--out", str(tmp_path)])
    check_folder(folder)
    ratings = pd.read_csv(folder / "data" / "ratings.csv")
    assert (ratings.loc[ratings.player == "random", "elo"] == 0).all()
    # tic-tac-toe has a solver: the mistake rates are measured at every budget
    mistakes = pd.read_csv(folder / "data" / "mistakes.csv")
    assert list(mistakes.simulations) == ([1, 2, 4] if name == "search_scaling" else [2, 4])
    assert (mistakes.positions == 60).all()
    rates = [c for c in mistakes.columns if c.endswith("rate")]
    assert rates and all(mistakes[c].between(0, 1).all() for c in rates)


# The two multi-run training experiments (about 30 s each here) repeat the training loop that
# tests/runtime/test_training.py covers; they run in `make test-slow`, atari100k's plumbing here.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param("gumbel_few_simulations", marks=pytest.mark.slow),
        pytest.param("simulations_in_training", marks=pytest.mark.slow),
        "atari100k",
    ],
)
def test_training_experiment_tiny(name, tmp_path):
    module = importlib.import_module(f"experiments.{name}")
    folder = module.main(["--tiny", "--out", str(tmp_path)])
    check_folder(folder)


def test_soak_compares_memory_after_the_replay_fills_with_its_level_then():
    from experiments import soak

    def at(t, mb, full):
        return {"elapsed_s": t, "rss_bytes": mb * 10**6, "env_steps": t, "replay_full": full}

    # Growth before the replay is full does not count; after it, 4% passes and 6% does not.
    samples = [at(60, 500, False), at(120, 900, True), at(180, 936, True), at(240, 920, True)]
    summary = soak.summarize(samples)
    assert summary["rss_at_full_bytes"] == 900e6 and summary["rss_max_after_bytes"] == 936e6
    assert summary["within_tolerance"] and summary["samples_after_full"] == 2
    assert "within 5%" in soak.summary_line("connect_four", 3600, summary)
    assert not soak.summarize([*samples, at(300, 955, True)])["within_tolerance"]
    never = soak.summarize(samples[:1])
    assert not never["replay_full"] and "never filled" in soak.summary_line("x", 60, never)
