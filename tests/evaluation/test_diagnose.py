"""Learned-model diagnostics: per-step errors by hand, masking past episode ends, end to end."""

import csv
import dataclasses
import json
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from configs import get_preset
from muzero.cli.diagnose import diagnose, main
from muzero.evaluation.episodes import make_single_player_eval
from muzero.evaluation.model_errors import (
    Predictions,
    Record,
    compare,
    make_recorder,
    predictions_along,
    summarize,
)
from muzero.evaluation.model_errors import real_outcomes as real_outcomes_eager
from muzero.model.networks import make_model
from muzero.model.unroll import unroll
from muzero.model.value_transforms import logits_to_scalar, make_support
from muzero.replay.history import network_spec
from muzero.search.policy import SearchOutput

# Jitted once per shape: eager `unroll_targets` under vmap dispatches op by op (seconds).
real_outcomes = jax.jit(real_outcomes_eager, static_argnums=(1, 2, 3))


def episode(actions, rewards, terminated, values, policies, valid, truncated=None):
    """One hand-made episode record [T] (no E axis); observations unused here."""
    n = len(actions)
    return Record(
        observation=jnp.zeros((n, 1)),
        action=jnp.asarray(actions, jnp.int32),
        reward=jnp.asarray(rewards, jnp.float32),
        terminated=jnp.asarray(terminated, bool),
        truncated=jnp.asarray(truncated or [False] * n, bool),
        root_value=jnp.asarray(values, jnp.float32),
        policy=jnp.asarray(policies, jnp.float32),
        valid=jnp.asarray(valid, bool),
    )


# Three real moves, the third terminating; steps 3 and 4 are padding after the end, filled
# with junk that must never be counted (reward 9, value 99).
HAND = episode(
    actions=[0, 1, 0, 1, 1],
    rewards=[1, 2, 3, 9, 9],
    terminated=[0, 0, 1, 0, 0],
    values=[10, 20, 30, 99, 99],
    policies=[[1, 0], [0.5, 0.5], [1, 0], [0, 1], [0, 1]],
    valid=[1, 1, 1, 0, 0],
)


def test_outcomes_by_hand_with_masking_after_the_end():
    out = real_outcomes(HAND, unroll_steps=2, td_steps=2, discount=0.5)
    # z_0 = 1 + .5*2 + .25*v_2 = 9.5; z_1 = 2 + .5*3 (terminal: no bootstrap) = 3.5; z_2 = 3.
    np.testing.assert_allclose(out.value_target[0], [9.5, 3.5, 3.0])
    np.testing.assert_allclose(out.value_target[1, :2], [3.5, 3.0])
    np.testing.assert_array_equal(
        out.state_mask, [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]
    )
    # The reward of the terminating move counts (k = 1 from t = 2); nothing after it does.
    np.testing.assert_array_equal(
        out.reward_mask, [[0, 1, 1], [0, 1, 1], [0, 1, 0], [0, 0, 0], [0, 0, 0]]
    )
    np.testing.assert_allclose(out.reward[0], [0, 1, 2])
    np.testing.assert_allclose(out.reward[1], [0, 2, 3])
    np.testing.assert_allclose(out.search_value[0], [10, 20, 30])
    np.testing.assert_array_equal(out.action[1, :2], [1, 0])


def test_per_step_errors_by_hand():
    out = real_outcomes(HAND, unroll_steps=2, td_steps=2, discount=0.5)
    # The model predicts reward 2, value 4 and policy (.75, .25) everywhere.
    predictions = Predictions(
        reward=jnp.full((5, 3), 2.0).at[:, 0].set(0.0),
        value=jnp.full((5, 3), 4.0),
        policy_logits=jnp.broadcast_to(jnp.log(jnp.array([0.75, 0.25])), (5, 3, 2)),
    )
    rows = summarize(compare(predictions, out))
    assert len(rows) == 3
    kl_one = -math.log(0.75)  # KL((1, 0) || (.75, .25))
    kl_half = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    expected = [
        # k = 0: positions 0, 1, 2; no reward.
        dict(reward_mae=None, value_mae_target=(5.5 + 0.5 + 1) / 3, value_mae_search=16.0,
             policy_kl=(2 * kl_one + kl_half) / 3, top1_agreement=2 / 3, states=3, rewards=0),
        # k = 1: states 1, 2 (from t = 0, 1); rewards of moves 0, 1, 2 (|2-1|, |2-2|, |2-3|).
        dict(reward_mae=2 / 3, value_mae_target=(0.5 + 1) / 2, value_mae_search=21.0,
             policy_kl=(kl_half + kl_one) / 2, top1_agreement=0.5, states=2, rewards=3),
        # k = 2: state 2 from t = 0; rewards of moves 1, 2.
        dict(reward_mae=0.5, value_mae_target=1.0, value_mae_search=26.0,
             policy_kl=kl_one, top1_agreement=1.0, states=1, rewards=2),
    ]  # fmt: skip
    for row, want in zip(rows, expected, strict=True):
        for name, value in want.items():
            if value is None:
                assert math.isnan(row[name])
            else:
                assert row[name] == pytest.approx(value, rel=1e-5), (row["k"], name)


def test_two_player_targets_are_the_movers():
    # Three plies; the third move wins for its mover (who also made the first move).
    game = episode([0, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0], [[1, 0]] * 3, [1, 1, 1])
    out = real_outcomes(game, unroll_steps=2, td_steps=3, discount=-1.0)
    np.testing.assert_allclose(out.value_target[0], [1.0, -1.0, 1.0])


def tiny_cartpole():
    config = get_preset("cartpole")
    return config.replace(
        network=dataclasses.replace(config.network, hidden_size=16, latent_size=8, num_layers=1),
        search=dataclasses.replace(config.search, num_simulations=4),
    )


def random_search(params, observation, legal_mask, key):
    """A stand-in for the search (no model to compile): a random action, all visits on it."""
    del params, observation
    action = jax.random.randint(key, legal_mask.shape[:1], 0, legal_mask.shape[1])
    visits = jax.nn.one_hot(action, legal_mask.shape[1])
    return SearchOutput(
        action=action,
        policy_target=visits,
        visit_counts=visits.astype(jnp.int32),
        root_value=jnp.zeros(action.shape),
    )


def test_recorder_plays_the_evaluations_episodes_and_cuts_at_max_steps():
    config = tiny_cartpole()
    env = envs.make(config.env.id)
    max_steps, key = 20, jax.random.key(0)  # random CartPole episodes last 10 to 40 moves
    record = jax.jit(make_recorder(env, random_search, config, 8, max_steps))(None, key)
    evaluate = make_single_player_eval(env, random_search, 8, config, max_steps)
    returns = jax.jit(evaluate)(None, key)
    np.testing.assert_allclose(jnp.sum(jnp.where(record.valid, record.reward, 0.0), 1), returns)
    # Every episode ends exactly once among its steps: by itself, or cut at max_steps.
    ended = (record.terminated | record.truncated) & record.valid
    np.testing.assert_array_equal(jnp.sum(ended, axis=1), 1)
    cut = record.valid[:, -1] & ~record.terminated[:, -1]
    np.testing.assert_array_equal(record.truncated[:, -1], cut)
    assert 0 < int(jnp.sum(cut)) < 8
    # Steps are valid from the first to the episode's end, then never again.
    lengths = jnp.sum(record.valid, axis=1)
    np.testing.assert_array_equal(record.valid, jnp.arange(max_steps) < lengths[:, None])


def read_outputs(run_dir, step):
    stem = run_dir / "diagnose" / f"diagnose-{step}"
    with open(f"{stem}.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert pathlib.Path(f"{stem}.png").stat().st_size > 10_000
    return rows, json.loads(pathlib.Path(f"{stem}.json").read_text())


def check_rows(rows, summary, unroll_steps):
    assert [int(r["k"]) for r in rows] == list(range(unroll_steps + 1))
    assert len(summary["steps"]) == unroll_steps + 1
    for row in rows:
        for name, value in row.items():
            if not (name.startswith("reward_mae") and row["k"] == "0"):  # no reward at k = 0
                assert math.isfinite(float(value)), (row["k"], name)
    positions = summary["positions"]
    assert int(rows[0]["states"]) == positions == sum(summary["episode_lengths"]) > 0
    # From every position but an episode's last, one more real state follows.
    assert int(rows[1]["states"]) == positions - len(summary["episode_lengths"])


def test_cli_on_the_smoke_run(smoke_run, capsys):
    """The trained tic-tac-toe smoke run: two players, the greedy search on both sides."""
    run_dir, components = smoke_run
    main([
        str(run_dir), "--episodes", "2", "--tactics-games", "32", "--tactics-positions", "10",
        "--lookahead-positions", "40",
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert "policy KL" in printed and "top-1" in printed
    assert "immediate win" in printed and "forced block" in printed
    assert "one-move lookahead: mistakes on 40 benchmark positions" in printed
    (step,) = {p.stem.removeprefix("diagnose-") for p in (run_dir / "diagnose").iterdir()}
    rows, summary = read_outputs(run_dir, step)
    k = components.config.learner.unroll_steps
    check_rows(rows, summary, k)
    assert summary["discount"] == -components.config.learner.discount
    assert all(5 <= n <= 9 for n in summary["episode_lengths"])
    tactics = summary["tactics"]
    assert tactics["games"] == 32
    for kind in ("immediate_win", "forced_block"):
        assert 0 < tactics[kind]["positions"] <= 10
        assert 0.0 <= tactics[kind]["search_plays"] <= 1.0
    lookahead = summary["lookahead"]
    for player in ("prior", "imagined", "real"):
        assert lookahead[player]["positions"] == 40


def test_single_player_outputs(tmp_path):
    config = tiny_cartpole()
    env = envs.make(config.env.id)
    params = make_model(config.network, network_spec(env.spec, config)).init(jax.random.key(0))
    summary = diagnose(tmp_path, 7, config, params, episodes=2, unroll_steps=2, max_steps=50)
    rows, written = read_outputs(tmp_path, 7)
    assert written == summary
    check_rows(rows, summary, 2)
    assert sum(summary["episode_returns"]) == summary["positions"]  # CartPole: +1 a move
    assert "not a board game" in summary["tactics"]["skipped"]
    assert "no mistake benchmark" in summary["lookahead"]["skipped"]


def test_bad_run_dir_and_host_env_fail_in_one_line(tmp_path, capsys):
    from muzero.config import to_dict

    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err

    (tmp_path / "checkpoints" / "4").mkdir(parents=True)
    (tmp_path / "config.json").write_text(json.dumps(to_dict(get_preset("atari_smoke"))))
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert "host environment" in err and "\n" not in err


def test_a_value_prefix_models_rewards_are_its_prefix_differences():
    """The reward of step k is prefix_k - prefix_{k-1}, prefix_{k-1} = 0 after a reset (here
    at steps 0 and 2 with horizon 2), as the search reads it."""
    config = get_preset("smoke")
    network = dataclasses.replace(config.network, value_prefix_horizon=2, lstm_size=4)
    spec = envs.make(config.env.id).spec
    model = make_model(network, spec)
    params = jax.jit(model.init)(jax.random.key(0))
    leaves, tree = jax.tree.flatten(params)  # random parameters: the untrained prefix is 0
    keys = jax.random.split(jax.random.key(1), len(leaves))
    params = tree.unflatten(
        [jax.random.normal(k, x.shape) for k, x in zip(keys, leaves, strict=True)]
    )
    observation = jax.random.bernoulli(jax.random.key(2), 0.4, (3, *spec.observation_shape))
    actions = jax.random.randint(jax.random.key(3), (3, 4), 0, spec.num_actions)
    support = make_support(network.reward_support)

    def both(p):
        predicted = predictions_along(
            model, p, observation, actions, value_support=support, reward_support=support
        )
        prefix = unroll(model, p, observation, actions).stacked()["reward_logits"]
        return predicted.reward, logits_to_scalar(prefix, support)

    reward, prefix = jax.device_get(jax.jit(both)(params))
    expected = [
        prefix[:, 0],
        prefix[:, 1] - prefix[:, 0],
        prefix[:, 2],
        prefix[:, 3] - prefix[:, 2],
    ]
    np.testing.assert_allclose(reward[:, 0], 0.0)
    np.testing.assert_allclose(reward[:, 1:], np.stack(expected, axis=1), atol=1e-6)
    assert np.abs(prefix[:, 1] - prefix[:, 0]).max() > 1e-3  # the differences mean something
