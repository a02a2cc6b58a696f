"""`make bench`'s learner half on the smoke preset: every figure is there, positive, and the
shares of a run add up. Structure and signs only, never speed: the machine's load decides
that (the relation between the update with and without reanalysis is checked on XLA's count of
the work instead)."""

import json

import jax
import pytest

from configs import get_preset
from muzero.cli import bench
from muzero.cli.bench_learning import (
    SHARES,
    bench_learning,
    filled_replay,
    run_shares,
    with_reanalysis,
)
from muzero.cli.common import parse_config
from muzero.learning.learner import init_train_state, make_optimizer, make_update_fn
from muzero.replay.history import network_spec
from muzero.runtime.components import build, init_state

QUICK = ["--repeats", "1", "--train-seconds", "0"]


def bench_smoke(tmp_path):
    path = tmp_path / "bench.json"
    bench.main(["smoke", *QUICK, "--json", str(path)])
    (result,) = json.loads(path.read_text())
    return result


def assert_shares(share):
    assert set(share) == set(SHARES)
    assert all(0 <= value <= 1 for value in share.values()), share
    assert sum(share.values()) == pytest.approx(1.0)
    assert share["act"] > 0 and share["learn"] > 0, share


def assert_learner_figures(result):
    assert result["batch_size"] == 32 and result["unroll_steps"] == 3
    assert result["updates_per_iteration"] == 2
    for key in ("updates_per_s", "update_s_reanalysis_off", "update_s_reanalysis_on"):
        assert result[key] > 0, key
    assert result["updates_per_s"] == pytest.approx(1 / result["update_s"])
    # B (K + 1) positions per reanalysis call.
    positions = result["reanalysed_positions_per_s"] * result["reanalysis_call_s"]
    assert positions == pytest.approx(32 * 4)
    assert_shares(result["share"])
    assert_shares(result["share_reanalysis_on"])


def test_the_bench_measures_learning_and_reanalysis_of_a_preset_without_it(tmp_path, capsys):
    """The smoke preset trains without reanalysis: its run has no reanalysis share, and the
    bench still measures reanalysis forced on, and the shares a run would have with it."""
    result = bench_smoke(tmp_path)
    assert result["reanalysis_config"] == "off"
    assert result["update_s"] == result["update_s_reanalysis_off"]
    assert result["acting_steps_per_s"] > 0
    assert_learner_figures(result)
    assert result["share"]["reanalysis"] == 0
    printed = capsys.readouterr().out
    assert "learning and reanalysis" in printed and "reanalysed" in printed


@pytest.mark.slow  # the default suite has the bench end to end once, above
def test_the_bench_measures_a_preset_with_reanalysis_on():
    """The smoke preset with `--reanalyze.policy --reanalyze.value` (the bench's command line
    passes them to the config as training does): its run reanalyses, so its own shares are the
    ones with reanalysis on. The acting half is the other test's; 1 ms stands in for it."""
    overrides = ["--reanalyze.policy", "--reanalyze.value"]
    config = parse_config(get_preset("smoke"), overrides, "bench")
    result = bench_learning(build(config), 1e-3, repeats=1)
    assert result["reanalysis_config"] == "policy+value"
    assert result["update_s"] == result["update_s_reanalysis_on"]
    assert_learner_figures(result)
    assert result["share"] == result["share_reanalysis_on"]


@pytest.fixture(scope="module")
def smoke_replay():
    """The smoke preset's components and the replay the bench fills for them."""
    c = build(get_preset("smoke"))
    return c, filled_replay(c, init_state(c, 0)["train_state"].params)


def test_the_update_with_reanalysis_does_more_work_than_without(smoke_replay):
    """What the bench's two update timings compare, counted by XLA rather than timed: the
    same update with reanalysis on takes more operations than with it off."""
    c, replay = smoke_replay
    flops = {}
    for on in (False, True):
        config = with_reanalysis(c.config, on)
        optimizer = make_optimizer(config)
        update = make_update_fn(c.model, optimizer, config, network_spec(c.spec, config))
        state = init_train_state(c.model, optimizer, jax.random.key(0), on)
        lowered = jax.jit(update).lower(state, replay, jax.random.key(1))
        flops[on] = lowered.cost_analysis()["flops"]
    assert flops[True] > flops[False] > 0


def test_the_filled_replay_holds_what_a_run_learns_from(smoke_replay):
    """As many acting chunks as a run plays before its first update (replay.min_size)."""
    c, replay = smoke_replay
    config = c.config
    lookahead = config.learner.unroll_steps + config.learner.td_steps
    valid = int(replay.steps_written) - lookahead
    assert valid * config.actor.num_envs >= config.replay.min_size
    assert int(replay.steps_written) % config.actor.unroll_length == 0


def test_run_shares_by_hand():
    """1 s acting, 4 updates of 0.5 s without reanalysis and 0.75 s with it: 1 : 2 : 1."""
    assert run_shares(1.0, 0.5, 0.75, 4) == pytest.approx(
        {"act": 0.25, "learn": 0.5, "reanalysis": 0.25}
    )
    # Timed separately, the update with reanalysis may come out faster by noise: no share.
    assert run_shares(1.0, 0.5, 0.25, 4) == pytest.approx(
        {"act": 0.5, "learn": 0.5, "reanalysis": 0.0}
    )


def test_config_overrides_start_at_the_first_dotted_option():
    own, overrides = bench._split_overrides(
        ["smoke", "--repeats", "1", "--reanalyze.policy", "--learner.batch-size=8"]
    )
    assert own == ["smoke", "--repeats", "1"]
    assert overrides == ["--reanalyze.policy", "--learner.batch-size=8"]
