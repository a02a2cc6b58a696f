"""Evaluation of trained runs: human-normalized scores, the Elo fit, `muzero.cli.eval` and
`muzero.cli.elo` end to end on the smoke runs."""

import json

import numpy as np
import pandas as pd
import pytest

from muzero.evaluation.atari_scores import ATARI_100K_GAMES, REFERENCE_SCORES, human_normalized
from muzero.evaluation.elo import MatchResult, expected_score, fit_elo, pick_steps, schedule


def test_human_normalized_by_hand():
    # Breakout: random 1.7, human 30.5 (Mnih et al. 2015).
    assert human_normalized("breakout", 30.5) == pytest.approx(1.0)
    assert human_normalized("ALE/Breakout", 1.7) == pytest.approx(0.0)
    assert human_normalized("Breakout", 16.1) == pytest.approx(0.5)
    # Pong: random -20.7, human 14.6; 21 points is (21 + 20.7) / 35.3.
    assert human_normalized("ALE/Pong", 21.0) == pytest.approx(41.7 / 35.3)
    np.testing.assert_allclose(human_normalized("ms_pacman", np.array([307.3, 6951.6])), [0, 1])
    assert np.isnan(human_normalized("ALE/Adventure", 5.0))  # never scored against humans
    assert len(REFERENCE_SCORES) == 57 and set(ATARI_100K_GAMES) <= set(REFERENCE_SCORES)


def exact_results(true: dict[str, float], games: int = 1000) -> list[MatchResult]:
    """Results whose scores equal the Elo model's expectation (wins + draws / 2)."""
    names, results = list(true), []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            score = expected_score(true[names[a]], true[names[b]]) * games
            draws = 100
            wins = score - draws / 2
            results.append(MatchResult(names[a], names[b], wins, draws, games - wins - draws))
    return results


def test_elo_fit_recovers_known_ratings():
    true = {"random": 0.0, "a": 250.0, "b": 600.0, "c": -150.0}
    ratings = fit_elo(exact_results(true), anchor="random")
    fitted = dict(zip(ratings.players, ratings.elo, strict=True))
    for name, elo in true.items():
        assert fitted[name] == pytest.approx(elo, abs=2.0)  # the weak prior's pull only
    # Sampled results: the 95% intervals hold the true ratings.
    rng = np.random.default_rng(0)
    sampled = []
    for r in exact_results(true):
        p = expected_score(true[r.first], true[r.second])
        wins = int(rng.binomial(400, p))
        sampled.append(MatchResult(r.first, r.second, wins, 0, 400 - wins))
    ratings = fit_elo(sampled, anchor="random")
    for name, (low, high) in zip(ratings.players, ratings.ci95, strict=True):
        assert low <= true[name] <= high
        assert name == "random" or high - low < 120


def test_elo_unbeaten_record_stays_finite_and_above():
    ratings = fit_elo([MatchResult("strong", "random", 40, 0, 0)], anchor="random")
    strong = ratings.elo[ratings.players.index("strong")]
    assert 400 < strong < 3000


def test_checkpoint_picks_and_schedule_link_everyone():
    assert pick_steps(list(range(1, 21)), 5) == [1, 6, 11, 15, 20]
    assert pick_steps([3, 7], 5) == [3, 7]
    pairs = schedule(["i1", "i2", "i3"], ["random", "mcts-4"], neighbours=1)
    assert ("random", "mcts-4") in pairs and ("i1", "i2") in pairs and ("i1", "i3") not in pairs
    assert sum(p[0] == "i3" for p in pairs) == 2


def test_make_eval_on_a_tictactoe_run_with_every_kind_of_opponent(
    smoke_run, tmp_path, monkeypatch, capsys
):
    from muzero.cli import eval as eval_cli

    run_dir, _ = smoke_run
    (tmp_path / "corner_bot.py").write_text(
        "import numpy as np\n"
        "def corner_first(observation, legal_action_mask):\n"
        "    for cell in (0, 2, 6, 8, 4):\n"
        "        if legal_action_mask[cell]:\n"
        "            return cell\n"
        "    return int(np.flatnonzero(legal_action_mask)[0])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    eval_cli.main(
        [str(run_dir), "--games", "4", "--opponents", "random,mcts-2,minimax"]
        + ["--opponent", "corner_bot:corner_first", "--num-simulations", "2"]
    )
    printed = capsys.readouterr().out
    assert "mcts-2" in printed and "W / D / L" in printed
    written = sorted((run_dir / "eval").glob("eval-*.json"))
    results = json.loads(written[-1].read_text())
    assert results["num_simulations"] == 2
    seats = results["opponents"]
    assert set(seats) == {
        f"{o}/{s}"
        for o in ("random", "mcts-2", "minimax", "corner_bot:corner_first")
        for s in ("first", "second")
    }
    for r in seats.values():
        assert r["games"] == 4 and r["wins"] + r["draws"] + r["losses"] == r["distinct"] <= 4
        assert 0 <= r["win_rate_ci95"][0] <= r["win_rate"] <= r["win_rate_ci95"][1] <= 1
    rows = written[-1].with_suffix(".csv").read_text().splitlines()
    assert rows[0].startswith("opponent,agent_seat,games,wins") and len(rows) == 9


@pytest.mark.parametrize(
    "args, message",
    [
        (["--opponent", "missing_bot:play"], "no module named 'missing_bot'"),
        (["--opponents", "alphabeta"], "eval.opponents"),
        (["--step", "99999"], "no checkpoint or snapshot of iteration 99999"),
        (["--games", "0"], "--games must be >= 1"),
    ],
)
def test_make_eval_refuses_bad_input_with_one_line(smoke_run, capsys, args, message):
    from muzero.cli import eval as eval_cli

    with pytest.raises(SystemExit) as exit_info:
        eval_cli.main([str(smoke_run[0]), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and len(err.splitlines()) == 1


def test_make_elo_on_a_tictactoe_run_writes_ratings_and_a_plot(smoke_run, capsys):
    from muzero.cli import elo
    from muzero.runtime import checkpointing

    run_dir, _ = smoke_run
    steps = checkpointing.snapshot_steps(run_dir)
    assert len(steps) >= 2  # snapshots are kept beside the rotating checkpoints
    elo.main([str(run_dir), "--games", "4", "--anchors", "random,mcts-2", "--max-checkpoints", "2"])
    printed = capsys.readouterr().out
    assert "Elo (random = 0)" in printed and "distinct / played" in printed
    written = sorted((run_dir / "eval").glob("elo-*.json"))[-1]
    table = json.loads(written.read_text())
    rated = {r["player"] for r in table["ratings"]}
    assert rated == {"random", "mcts-2", f"iter {steps[0]}", f"iter {steps[-1]}"}
    assert next(r for r in table["ratings"] if r["player"] == "random")["elo"] == 0
    for match in table["matches"]:  # 4 games per seat, from distinct openings
        assert match["played"] == 4 and 1 <= match["distinct"] <= 4
        assert match["wins"] + match["draws"] + match["losses"] == match["distinct"]
    games = pd.read_csv(written.parent / (written.stem + "-games.csv"))
    assert len(games) == 4 * len(table["matches"]) and games["counted"].sum() == sum(
        m["distinct"] for m in table["matches"]
    )
    assert sorted((run_dir / "eval").glob("elo-*.png"))


def test_make_eval_on_atari_reports_human_normalized_scores_and_a_gif(atari_smoke_run):
    from muzero.cli import eval as eval_cli

    eval_cli.main([str(atari_smoke_run), "--games", "2", "--num-simulations", "2"])
    written = sorted((atari_smoke_run / "eval").glob("eval-*.json"))[-1]
    results = json.loads(written.read_text())
    assert len(results["returns"]) == 2
    expected = [human_normalized("ALE/Pong", r) for r in results["returns"]]
    np.testing.assert_allclose(results["human_normalized"], expected)
    assert results["human_normalized_median"] == pytest.approx(np.median(expected))
    import imageio.v2 as imageio

    frames = imageio.mimread(results["video"])
    assert len(frames) > 10 and frames[0].shape[:2] == (192, 192)
