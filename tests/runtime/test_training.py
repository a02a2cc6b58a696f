"""End to end on the smoke preset: a run, its checkpoint, resume equivalence, one compile."""

import dataclasses
import json

import jax
import numpy as np
import pytest

import envs
from configs import get_preset
from muzero.agent import Agent
from muzero.runtime import checkpointing, runs, training


def smoke(tmp_path, **run_changes):
    config = get_preset("smoke")
    return config.replace(
        run=dataclasses.replace(config.run, runs_dir=str(tmp_path), **run_changes)
    )


def final_params(run_dir):
    config = runs.load_run_config(run_dir)
    run_dir, step = checkpointing.resolve(run_dir)
    agent = Agent.load(run_dir)
    return step, agent.params, config


def test_smoke_run_writes_config_metrics_checkpoint_and_eval(smoke_run):
    run_dir, _ = smoke_run
    assert (run_dir / "config.json").exists()
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert any("learner/loss" in row and np.isfinite(row["learner/loss"]) for row in rows)
    assert any("actor/env_steps_per_s" in row for row in rows)
    assert (run_dir / "metrics.csv").read_text().startswith("env_steps")
    assert list((run_dir / "tensorboard").iterdir())
    run_dir_resolved, step = checkpointing.resolve(run_dir)
    assert step == 12
    evaluation = json.loads((run_dir / "eval.json").read_text())
    assert evaluation["random/first"]["games"] == 8
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 12 and summary["updates"] > 0


def test_no_recompilation_inside_the_loop(smoke_run):
    _, components = smoke_run
    # 12 iterations, each calling act, add and learn: one compiled executable apiece.
    assert components.act._cache_size() == 1
    assert components.add._cache_size() == 1
    assert all(part._cache_size() == 1 for part in components.learn.jitted)


def test_resume_ends_with_the_same_parameters(smoke_run, tmp_path):
    full_dir, _ = smoke_run
    half_dir = training.run(smoke(tmp_path, max_iterations=6), evaluate_at_end=False)
    assert checkpointing.resolve(half_dir)[1] == 6
    resumed_config = runs.load_run_config(half_dir)
    resumed_config = resumed_config.replace(
        run=dataclasses.replace(resumed_config.run, max_iterations=12)
    )
    training.run(resumed_config, resume=half_dir, evaluate_at_end=False)
    step_full, params_full, _ = final_params(full_dir)
    step_resumed, params_resumed, _ = final_params(half_dir)
    assert step_full == step_resumed == 12
    for a, b in zip(jax.tree.leaves(params_full), jax.tree.leaves(params_resumed), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # Metrics of the resumed run read as one run: env steps never go backwards.
    rows = [json.loads(line) for line in (half_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [row["env_steps"] for row in rows]
    assert steps == sorted(steps)


def test_agent_plays_from_raw_pgx_observations(smoke_run):
    import envs

    run_dir, _ = smoke_run
    agent = Agent.load(run_dir)
    env = envs.make("tic_tac_toe")
    state, ts = env.reset(jax.random.key(3))
    agent.reset()
    for _ in range(3):
        result = agent.search(np.asarray(ts.observation), np.asarray(ts.legal_mask))
        assert bool(ts.legal_mask[result.action])
        assert result.policy.shape == (9,) and result.policy.sum() == pytest.approx(1, abs=1e-5)
        assert np.all(result.policy[~np.asarray(ts.legal_mask)] == 0)
        assert np.isfinite(result.value)
        action = agent.act(np.asarray(ts.observation), np.asarray(ts.legal_mask))
        assert action == result.action  # evaluation search has no noise
        state, ts = env.step(state, action, jax.random.key(0))
    with pytest.raises(ValueError, match="shape"):
        agent.act(np.zeros((4,)))


@pytest.mark.slow  # the loop the smoke run covers, with units tested in search/ and model/
def test_puct_search_and_resnet_torso_run_in_the_loop(tmp_path):
    """The other search (pUCT, Dirichlet noise) and torso (ResNet) on a second pgx game, with
    EfficientZero's consistency loss over plane latents."""
    base = smoke(tmp_path, max_iterations=3)
    config = base.replace(
        env=dataclasses.replace(base.env, id="connect_four"),
        network=dataclasses.replace(
            base.network, torso="resnet", channels=8, num_blocks=1, projection_size=16
        ),
        search=dataclasses.replace(base.search, algorithm="muzero"),
        actor=dataclasses.replace(base.actor, num_envs=8),
        learner=dataclasses.replace(base.learner, td_steps=4, consistency_loss_weight=2.0),
        replay=dataclasses.replace(base.replay, min_size=16),
    )
    run_dir = training.run(config, evaluate_at_end=False)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 3 and summary["updates"] > 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(row["learner/loss"]) for row in rows if "learner/loss" in row)
    consistency = [row["learner/consistency_loss"] for row in rows if "learner/loss" in row]
    assert consistency and all(-1.0 <= c <= 1.0 for c in consistency)


def test_a_value_prefix_run_trains(tmp_path):
    """EfficientZero's value prefix (network.value_prefix_horizon) end to end on the smoke
    preset: self-play searches with it, the learner fits prefix targets, the checkpoint holds
    the LSTM and no per-step reward head, and the loaded agent plays."""
    base = smoke(tmp_path, max_iterations=3)
    network = dataclasses.replace(base.network, value_prefix_horizon=2, lstm_size=8)
    run_dir = training.run(base.replace(network=network), evaluate_at_end=False)
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rewards = [row["learner/reward_loss"] for row in rows if "learner/loss" in row]
    assert rewards and all(np.isfinite(r) and r > 0 for r in rewards)
    agent = Agent.load(run_dir)
    assert "value_prefix" in agent.params and "MLP_1" not in agent.params["dynamics"]["params"]
    result = agent.search(np.zeros(envs.spec(base.env).observation_shape, bool))
    assert np.isfinite(result.value)


def test_an_opponent_failing_in_evaluation_does_not_stop_training(smoke_run, tmp_path, monkeypatch):
    """A plug-in opponent that plays an illegal move, in the periodic evaluation and the final
    one: the run finishes, and each error is a row of metrics.jsonl and in summary.json."""
    from muzero.evaluation.opponents import make_opponent

    (tmp_path / "illegal_bot.py").write_text("def play(observation, legal_mask):\n    return 99\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    base = smoke(tmp_path, max_iterations=1)  # no update yet
    evaluation = dataclasses.replace(base.eval, opponents=("illegal_bot:play",), interval_s=1e-6)
    # The smoke run's functions, compiled for these very shapes: only the opponents change.
    _, compiled = smoke_run
    opponents = {"illegal_bot:play": make_opponent("illegal_bot:play", "tic_tac_toe")}
    reuse = lambda config: dataclasses.replace(compiled, config=config, opponents=opponents)  # noqa: E731
    monkeypatch.setattr(training, "build", reuse)
    run_dir = training.run(base.replace(eval=evaluation))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 1 and "eval" not in summary
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    errors = [row for row in rows if "eval/error" in row]
    assert len(errors) == 2 and summary["eval_errors"] == errors  # after iteration 1, at the end
    for row in errors:
        assert "opponent 'illegal_bot:play' returned 99, not a legal action" in row["eval/error"]
    assert checkpointing.resolve(run_dir)[1] == 1  # the final checkpoint was written


def test_evaluations_every_n_env_steps(smoke_run, tmp_path, monkeypatch):
    """`eval.interval_env_steps`: an evaluation each time the run passes another multiple of
    it (128 env steps per smoke iteration, so every second iteration), and one at the end."""
    base = smoke(tmp_path, max_iterations=5, snapshot_interval_s=0.0)
    _, compiled = smoke_run
    monkeypatch.setattr(
        training, "build", lambda config: dataclasses.replace(compiled, config=config)
    )
    evaluation = dataclasses.replace(base.eval, interval_env_steps=256)
    run_dir = training.run(base.replace(eval=evaluation))
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evaluated = [row["env_steps"] for row in rows if any(k.startswith("eval/") for k in row)]
    assert evaluated == [256, 512, 640]
