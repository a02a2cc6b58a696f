"""The data-parallel learner (`muzero.runtime.sharding`): `run.devices` checked before any
compile; one update on 4 devices equals the same update on 1 (drawing the same global batch:
4 sampling strata on both) and gathers no replay records across devices; the smoke preset
trains end to end on 4 devices.

The multi-device checks need 4 CPU devices, which XLA creates only if told before JAX starts,
so they run this file as a script in a subprocess (`python test_sharding.py <check>`) and
assert on the JSON it prints.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEVICES = 4


def _smoke(reanalysis: bool = False, **run):
    """The smoke preset with `run` overrides; with `reanalysis`, also reanalysed policy and
    value targets (mctx searches inside the update), consistency and off-policy horizons."""
    from configs import get_preset

    config = get_preset("smoke")
    config = config.replace(run=dataclasses.replace(config.run, **run))
    if not reanalysis:
        return config
    return config.replace(
        reanalyze=dataclasses.replace(config.reanalyze, policy=True, value=True, num_simulations=4),
        network=dataclasses.replace(config.network, projection_size=16),
        learner=dataclasses.replace(config.learner, consistency_loss_weight=1.0, td_age_steps=10),
    )


def _on_four_devices(check: str, tmp_path: pathlib.Path) -> dict:
    env = os.environ | {
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={DEVICES}",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, __file__, check, str(tmp_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- in this process: the checks of run.devices ----


@pytest.mark.parametrize(
    "run, message",
    [
        ({"devices": -1}, "run.devices must be >= 0"),
        ({"devices": 3}, "run.devices must divide learner.batch_size (32)"),
    ],
)
def test_run_devices_is_checked_by_the_config(run, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _smoke(**run)


def test_run_devices_is_checked_against_the_machine_before_any_compile():
    from muzero.runtime import sharding

    with pytest.raises(ValueError, match="run.devices asks for 4 devices, but this machine has 2"):
        sharding.check_devices(_smoke(devices=4), available=2)
    # 0 means every device: 3 of them cannot share a batch of 32.
    with pytest.raises(ValueError, match="run.devices .3 devices. must divide learner.batch_size"):
        sharding.check_devices(_smoke(devices=0), available=3)
    sharding.check_devices(_smoke(devices=0), available=2)
    assert sharding.device_count(_smoke(devices=0), available=8) == 8


def test_one_device_is_a_mesh_of_one():
    from muzero.runtime import sharding

    mesh = sharding.make_mesh(_smoke())
    assert mesh.devices.shape == (1,) and mesh.axis_names == (sharding.AXIS,)


# ---- on 4 devices, in a subprocess ----


# The update with reanalysis (mctx searches inside it), consistency and off-policy horizons is a
# superset of the plain one, which `make test-slow` keeps.
@pytest.fixture(
    scope="module",
    params=[pytest.param("update", marks=pytest.mark.slow), "update-reanalysis"],
)
def four_device_update(request, tmp_path_factory):
    """Two updates on 4 devices and on 1, from the same replay (one subprocess per variant)."""
    return _on_four_devices(request.param, tmp_path_factory.mktemp(request.param))


def test_learner_updates_on_four_devices_equal_the_same_updates_on_one(four_device_update):
    """For the same global batch: the 1-device learner samples in 4 strata too, so both draw
    the same positions and differ only in where the arithmetic runs."""
    result = four_device_update
    one, four = result["1"], result["4"]
    assert four["devices"] == DEVICES and one["devices"] == 1
    assert four["params_replicated"] and four["replay_split"] and four["all_reduce"]
    assert four["moved"] > 1e-4  # the update changed the parameters, so the check means something
    for name in ("loss", "grad_norm"):
        assert four[name] == pytest.approx(one[name], rel=1e-5), name
    assert result["max_param_diff"] < 1e-6  # measured: 4e-10, and 3e-8 with reanalysis
    assert result["max_priority_diff"] < 1e-5


def test_each_device_samples_from_its_own_replay_columns(four_device_update):
    """Stratified sampling (`muzero.replay.buffer.Strata`, one stratum per device) reads each
    device's records where they lie: nothing in the compiled update gathers as much as one
    [E, L] replay field across the devices (what crosses is batch-sized: the sampled indices
    and new priorities, for the priority write-back). The unstratified sampler, drawing over
    the whole [E * L], does all-gather replay fields (measured in the full update: the
    terminated and truncated flags and the scaled priorities; here its sampling step alone,
    2 s to compile instead of 17), so the check can fail. Measured on the smoke preset:
    32 elements at most (384 with reanalysis, its searches' batch-sized index arrays) against
    2,048 in a replay field; 2,048 unstratified."""
    four = four_device_update[str(DEVICES)]
    assert four["largest_all_gather"] < four["replay_field"]
    assert four_device_update["unstratified_largest_all_gather"] >= four["replay_field"]


@pytest.fixture(scope="module")
def four_device_smoke(tmp_path_factory):
    """The smoke preset trained on 4 devices, then resumed on 1 and on 2 (one subprocess)."""
    return _on_four_devices("smoke", tmp_path_factory.mktemp("four_devices"))


def test_the_smoke_preset_trains_end_to_end_on_four_devices(four_device_smoke):
    result = four_device_smoke[str(DEVICES)]
    assert result["iterations"] == 12 and result["updates"] > 0
    assert result["params_devices"] == DEVICES and result["replay_split"]
    assert result["compiles"] == {"act": 1, "add": 1, "learn": 1}
    assert result["finite"]


@pytest.mark.parametrize("devices", [1, 2])
def test_a_checkpoint_written_on_four_devices_resumes_on_fewer(four_device_smoke, devices):
    result = four_device_smoke[str(devices)]
    assert result["iterations"] == 14 and result["updates"] > four_device_smoke["4"]["updates"]
    assert result["params_devices"] == devices and result["replay_split"]
    assert result["finite"]


# ---- the subprocess's side ----


def _fill_replay(state, c, iterations: int):
    """`iterations` acting chunks written to the replay, on the components' devices."""
    import jax

    key = jax.random.key(1)
    for _ in range(iterations):
        key, k_act = jax.random.split(key)
        state["actor"], trajectory, _ = c.act(state["train_state"].params, state["actor"], k_act)
        state["replay"] = c.add(state["replay"], trajectory)
    return jax.device_get(state)


def _one_update(devices: int, filled: dict, reanalysis: bool) -> tuple[dict, dict]:
    import jax
    import numpy as np

    from muzero.runtime import components, sharding

    # The smoke preset's two updates per call: the first one's learning rate is 0 (warmup), and
    # the second samples by the priorities the first wrote. 4 strata on any number of devices,
    # so that both sides draw the same batch.
    c = components.build(_smoke(reanalysis, devices=devices), num_strata=DEVICES)
    state = sharding.place_state(filled, c.mesh)
    before = jax.device_get(state["train_state"].params)
    args = (state["train_state"], state["replay"], jax.random.key(7))
    train_state, replay, metrics = c.learn(*args)
    _, step, _ = c.learn.jitted
    text = _compiled_text(step, state, c)
    params = jax.device_get(train_state.params)
    leaf = jax.tree.leaves(train_state.params)[0]
    moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), params, before)
    found = {
        "devices": len(c.mesh.devices.flat),
        "params_replicated": leaf.sharding.is_fully_replicated and len(leaf.devices()) == devices,
        "replay_split": replay.priority.sharding.spec == sharding.batch_sharded(c.mesh).spec,
        "all_reduce": "all-reduce" in text,
        "largest_all_gather": _largest_all_gather(text),
        "replay_field": state["replay"].priority.size,
        "loss": float(metrics["learner/loss"]),
        "grad_norm": float(metrics["learner/grad_norm"]),
        "moved": max(jax.tree.leaves(moved)),
    }
    return found, {"params": params, "priority": np.asarray(replay.priority)}


def _compiled_text(step, state, c) -> str:
    """The optimised HLO of one update as `learn` calls it."""
    import jax

    replay = state["replay"]
    records = replay.replace(priority=None, max_priority=None)
    args = (state["train_state"], replay.priority, replay.max_priority, records, jax.random.key(0))
    return step.lower(*args).compile().as_text()


def _largest_all_gather(hlo: str) -> int:
    """The most elements any all-gather of the HLO text returns (0 if none): the shapes on an
    instruction's line before `all-gather(`, e.g. `%x = pred[16,128]{1,0} all-gather(...)`."""
    sizes = [0]
    for line in hlo.splitlines():
        head, found, _ = line.partition("all-gather(")
        if not found:
            head, found, _ = line.partition("all-gather-start(")
        for dims in re.findall(r"[a-z]\d*\[([\d,]*)\]", head if found else ""):
            sizes.append(math.prod(int(d) for d in dims.split(",") if d))
    return max(sizes)


def _unstratified_largest_all_gather(filled: dict) -> int:
    """`_largest_all_gather` of the sampling step alone (compiled, not run) on 4 devices, drawn
    in one stratum over the whole replay: the old, global sampling."""
    import jax

    from muzero.learning.learner import sample_positions
    from muzero.runtime import sharding

    config = _smoke(devices=DEVICES)
    mesh = sharding.make_mesh(config)
    replay = jax.device_put(filled["replay"], sharding.replay_shardings(mesh))
    draw = jax.jit(
        lambda r, k: sample_positions(r, k, config, next_observations=False),
        out_shardings=sharding.batch_sharded(mesh),
    )
    return _largest_all_gather(draw.lower(replay, jax.random.key(0)).compile().as_text())


def _check_update(reanalysis: bool) -> dict:
    import jax
    import numpy as np

    from muzero.runtime import components, sharding

    c1 = components.build(_smoke(reanalysis, devices=1))
    state = sharding.place_state(components.init_state(c1, seed=0), c1.mesh)
    filled = _fill_replay(state, c1, iterations=4)
    result = {}
    arrays = {}
    for devices in (1, DEVICES):
        result[str(devices)], arrays[devices] = _one_update(devices, filled, reanalysis)
    diffs = jax.tree.map(
        lambda a, b: float(np.max(np.abs(a - b))), arrays[1]["params"], arrays[DEVICES]["params"]
    )
    result["max_param_diff"] = max(jax.tree.leaves(diffs))
    priority_diff = np.abs(arrays[1]["priority"] - arrays[DEVICES]["priority"])
    result["max_priority_diff"] = float(np.max(priority_diff))
    result["unstratified_largest_all_gather"] = _unstratified_largest_all_gather(filled)
    return result


def _check_smoke(runs_dir: str) -> dict:
    import pathlib
    import shutil

    from muzero.runtime import runs, training

    config = _smoke(devices=DEVICES, runs_dir=runs_dir, tensorboard=False)
    found = {str(DEVICES): _trained(lambda: training.run(config, evaluate_at_end=False))}
    run_dir = pathlib.Path(found[str(DEVICES)]["run_dir"])
    for devices in (1, 2):  # each from its own copy of the 4-device run at iteration 12
        copy = shutil.copytree(run_dir, f"{run_dir}-on-{devices}")
        saved = runs.load_run_config(copy)
        more = saved.replace(run=dataclasses.replace(saved.run, devices=devices, max_iterations=14))
        found[str(devices)] = _trained(
            lambda: training.run(more, resume=copy, evaluate_at_end=False)  # noqa: B023
        )
    return found


def _trained(train) -> dict:
    """Runs `train` (-> its run directory) and returns what the tests check of it: its
    counters, where its last checkpoint's state lies once restored, how often each jitted part
    compiled, whether its parameters are finite."""
    import jax
    import numpy as np

    from muzero.runtime import sharding, training

    captured, original = {}, training.build

    def spying_build(config):
        captured["c"] = original(config)
        return captured["c"]

    training.build = spying_build
    try:
        run_dir = train()
    finally:
        training.build = original
    c = captured["c"]
    summary = json.loads((run_dir / "summary.json").read_text())
    _, step, _ = c.learn.jitted
    state = training._start_loop(c, run_dir, summary["iterations"])  # the last checkpoint
    leaves = jax.tree.leaves(state.train_state.params)
    return {
        "run_dir": str(run_dir),
        "iterations": summary["iterations"],
        "updates": summary["updates"],
        "params_devices": len(leaves[0].devices()),
        "replay_split": state.replay.action.sharding.spec == sharding.batch_sharded(c.mesh).spec,
        "compiles": {
            "act": c.act._cache_size(),
            "add": c.add._cache_size(),
            "learn": step._cache_size(),
        },
        "finite": all(bool(np.all(np.isfinite(np.asarray(x)))) for x in leaves),
    }


if __name__ == "__main__":
    check, where = sys.argv[1], sys.argv[2]
    if check.startswith("update"):
        found = _check_update(reanalysis=check == "update-reanalysis")
    else:
        found = _check_smoke(where)
    print(json.dumps(found))
