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
