"""Every experiment script runs end to end in its tiny mode, so none of them rots.

The board-game experiments reuse the session's smoke run (`--run`) instead of training; the
other three train two tiny runs each (40-60 s, mostly compiling, on 2 cores)."""

import importlib

import pandas as pd
import pytest

from experiments import common


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


# The training experiments (20-40 s each here) repeat the training loop that
# tests/runtime/test_training.py and the atari_smoke run cover, and the aggregates they report are
# checked by hand below; their tiny runs are in `make test-slow`.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param("gumbel_few_simulations", marks=pytest.mark.slow),
        pytest.param("simulations_in_training", marks=pytest.mark.slow),
        pytest.param("efficientzero_ablation", marks=pytest.mark.slow),
        pytest.param("value_prefix_model", marks=pytest.mark.slow),
        pytest.param("atari100k", marks=pytest.mark.slow),
    ],
)
def test_training_experiment_tiny(name, tmp_path):
    module = importlib.import_module(f"experiments.{name}")
    folder = module.main(["--tiny", "--out", str(tmp_path)])
    check_folder(folder)


def test_ablation_arms_switch_exactly_their_additions(tmp_path):
    """Each arm of the EfficientZero ablation is the preset with every addition off but its
    own, at the preset's values, and a run's config names its arm back."""
    from configs import get_preset
    from experiments import efficientzero_ablation as ablation

    base = get_preset(ablation.PRESET)
    for arm, parts in ablation.ARMS.items():
        config = common.configure(ablation.PRESET, ablation.arm_overrides(arm, base), tmp_path)
        assert ablation.arm_of(config) == arm
        assert (config.reanalyze.policy and config.reanalyze.value) == ("reanalyze" in parts)
        assert (config.learner.consistency_loss_weight == 2.0) == ("consistency" in parts)
        assert (config.network.value_prefix_horizon == 5) == ("value_prefix" in parts)
        assert (config.learner.td_age_steps == 60_000) == ("off_policy" in parts)
        # everything else is the preset's
        assert config.learner.updates_per_iteration == base.learner.updates_per_iteration
        assert config.run.max_env_steps == base.run.max_env_steps


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


# A [runs, tasks] matrix small enough to check by hand: 3 runs of 4 tasks, chosen so that the IQM
# of all 12 scores (2.5) differs from the IQM of the 4 task means (2.0).
SCORES = [[0.0, 1.0, 2.0, 10.0], [0.5, 1.5, 2.5, 11.0], [4.0, 2.0, 3.0, 12.0]]


def test_aggregates_are_rliables_formulas_on_a_hand_checkable_matrix():
    import numpy as np

    from experiments import aggregates

    result = aggregates.aggregate_scores({"a": np.array(SCORES)}, reps=200, seed=0)["a"]
    assert list(result) == ["iqm", "median", "mean", "optimality_gap"]
    # IQM: the 12 scores sorted, the lowest 3 and highest 3 dropped, the middle 6 averaged.
    middle = sorted(v for row in SCORES for v in row)[3:9]
    assert middle == [1.5, 2.0, 2.0, 2.5, 3.0, 4.0]
    assert result["iqm"][0] == pytest.approx(15.0 / 6)
    # Per-task means over runs 1.5, 1.5, 2.5, 11: their median and mean.
    assert result["median"][0] == pytest.approx(2.0)
    assert result["mean"][0] == pytest.approx(16.5 / 4)
    # Optimality gap: 1 - mean(min(score, 1)) = 1 - (0 + 0.5 + 1 + 9 ones) / 12.
    assert result["optimality_gap"][0] == pytest.approx(1 - 10.5 / 12)
    for value, low, high in result.values():
        assert low <= value <= high


def test_aggregate_intervals_resample_runs_within_tasks_and_repeat_with_the_seed():
    import numpy as np

    from experiments import aggregates

    scores = {"a": np.array(SCORES), "b": np.array(SCORES) + 1.0}
    first = aggregates.aggregate_scores(scores, reps=300, seed=3)
    assert first == aggregates.aggregate_scores(scores, reps=300, seed=3)
    assert first != aggregates.aggregate_scores(scores, reps=300, seed=4)
    # Runs are resampled within each task: the mean lies between the means of the per-task
    # minima and maxima (3.25 .. 5.25 for "a"), and strictly inside, since one resample
    # reaches an end with chance (1/3)^12; resampling whole runs (rows) would reach both ends
    # (all of run 0, or all of run 2: 1/27 each).
    _, low, high = first["a"]["mean"]
    assert 3.25 < low < high < 5.25
    # Shifting every score by 1 shifts the mean's interval by exactly 1 (same resamples).
    assert first["b"]["mean"] == pytest.approx(tuple(v + 1.0 for v in first["a"]["mean"]))
    # One run per task: nothing to resample but the tasks (task_bootstrap).
    one = {"a": np.array(SCORES[:1])}
    assert aggregates.aggregate_scores(one, reps=50)["a"]["mean"] == (3.25, 3.25, 3.25)
    _, low, high = aggregates.aggregate_scores(one, reps=200, task_bootstrap=True)["a"]["mean"]
    assert 0.0 <= low < 3.25 < high <= 10.0
    with pytest.raises(ValueError, match="runs, tasks"):
        aggregates.aggregate_scores({"a": np.zeros(4)})


def test_aggregates_table_csv_rows_and_figures(tmp_path):
    import numpy as np

    from experiments import aggregates

    scores = {"MuZero": np.array(SCORES), "Gumbel MuZero": np.array(SCORES) + 1.0}
    result = aggregates.aggregate_scores(scores, reps=100, seed=0)
    lines = aggregates.aggregates_table(result, percent=True).splitlines()
    assert lines[0].startswith("| algorithm | IQM [95% CI] | Median [95% CI] | Mean [95% CI] |")
    assert len(lines) == 4 and lines[2].startswith("| MuZero | 250.0% [")
    assert lines[3].startswith("| Gumbel MuZero | 350.0% [")
    rows = aggregates.aggregate_rows(result)
    assert len(rows) == 8 and rows[0] == {"algorithm": "MuZero", "metric": "iqm"} | dict(
        zip(("value", "ci_low", "ci_high"), result["MuZero"]["iqm"], strict=True)
    )
    taus = np.linspace(0.0, 12.0, 25)
    profiles = aggregates.performance_profiles(scores, taus, reps=100)
    profile, low, high = profiles["MuZero"]
    assert profile[0] == pytest.approx(11 / 12) and profile[-1] == 0.0  # scores above 0, 12
    assert (low <= profile).all() and (profile <= high).all()
    aggregates.plot_interval_estimates(result, tmp_path / "intervals.png", references={
        "paper": {"mean": 2.0}
    })  # fmt: skip
    aggregates.plot_performance_profiles(profiles, taus, tmp_path / "profile.png")
    assert all((tmp_path / f).stat().st_size > 0 for f in ("intervals.png", "profile.png"))


def test_ablation_resumes_from_committed_records_without_training(tmp_path, monkeypatch):
    """A results folder whose records/ hold every run of the setting: `--resume-folder` trains
    nothing and reports from them (its runs/ would be git-ignored; records/ are committed)."""
    import json

    from configs import get_preset
    from experiments import efficientzero_ablation as ablation
    from muzero.config import to_dict
    from muzero.runtime import training

    base = get_preset(ablation.PRESET)
    s = ablation.settings(type("Args", (), {"tiny": True, "paper_scale": False})())
    for arm in s["arms"]:
        overrides = ablation.run_overrides(s, base, "Breakout-MinAtar", arm, 0)
        config = common.configure(ablation.PRESET, overrides, tmp_path / "runs")
        record = tmp_path / ablation.RECORDS / "Breakout-MinAtar" / arm / "seed0"
        record.mkdir(parents=True)
        (record / "config.json").write_text(json.dumps(to_dict(config)))
        (record / "summary.json").write_text(json.dumps({"env_steps": 256, "updates": 4}))
    monkeypatch.setattr(training, "run", lambda *a, **k: pytest.fail("trained a finished run"))
    args = type("Args", (), {"seed": 0, "keep_checkpoints": False})()
    found = ablation.train_all(args, s, tmp_path)
    assert sorted(ablation.arm_of(ablation.read_config(d)) for d in found) == sorted(s["arms"])
