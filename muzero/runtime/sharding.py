"""The data-parallel mesh of one machine: which devices a run uses and how its state lies on them.

One mesh axis, `data`, over `run.devices` local devices. The learner's batch [B, ...] and the
replay's environment columns [E, ...] are split along it; parameters and optimizer state are
replicated. Everything runs under plain `jax.jit` with these shardings: XLA inserts the
all-reduce, so the gradient is that of the global batch's mean loss (no `shard_map`, whose
replicated-parameter gradients are already summed, see ../shared/STACK_NOTES.md). One device is
the same code with a mesh of one.

The replay is sampled in one stratum per device (`muzero.replay.buffer.Strata`, Ape-X's
per-shard sampling): each device draws B / D positions by priority from the E / D environment
columns it holds, so its share of the batch is gathered where the records lie and only
batch-sized arrays (the sampled indices and their new priorities) cross between devices. The
batch's rows d B/D .. (d+1) B/D - 1, which `batch_sharded` puts on device d, are the ones device
d drew.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from muzero.config import Config
from muzero.replay.buffer import ReplayState

AXIS = "data"


def device_count(config: Config, available: int | None = None) -> int:
    """The devices a run uses: `run.devices`, or every local device when it is 0."""
    available = jax.local_device_count() if available is None else available
    return config.run.devices or available


def check_devices(config: Config, available: int | None = None) -> None:
    """`run.devices` must be present and divide the global batch and the environments
    (ValueError naming the field); before anything compiles."""
    available = jax.local_device_count() if available is None else available
    wanted = device_count(config, available)
    if wanted > available:
        raise ValueError(
            f"run.devices asks for {wanted} devices, but this machine has {available} "
            f"({jax.default_backend()})"
        )
    for field, size in (
        ("learner.batch_size", config.learner.batch_size),
        ("actor.num_envs", config.actor.num_envs),
    ):
        if size % wanted:
            raise ValueError(f"run.devices ({wanted} devices) must divide {field}, got {size}")


def make_mesh(config: Config) -> Mesh:
    """A one-axis mesh over the first `device_count(config)` local devices."""
    devices = jax.local_devices()[: device_count(config)]
    return Mesh(np.array(devices), (AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    """Every device holds the whole array (parameters, optimizer state, scalars)."""
    return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh) -> NamedSharding:
    """The leading axis (the batch B, the environments E, or the sampling strata D) split over
    the devices."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def time_major_sharded(mesh: Mesh) -> NamedSharding:
    """The second axis split: a trajectory [T, E, ...], along its environments."""
    return NamedSharding(mesh, PartitionSpec(None, AXIS))


def act_shardings(mesh: Mesh) -> tuple[NamedSharding, NamedSharding, NamedSharding]:
    """Where the device actor's outputs lie (`muzero.acting.device_actor.make_act_fn`): its
    state [E, ...] and the trajectory [T, E, ...] split along the environments, its stats
    (scalars) replicated. Fixed, so that the state it returns is placed as the state it was
    given and the next call reuses the compiled program."""
    return batch_sharded(mesh), time_major_sharded(mesh), replicated(mesh)


def replay_shardings(mesh: Mesh) -> ReplayState:
    """The shardings of a `ReplayState`, field by field: its [E, L, ...] records split along
    the environments, its scalar counters replicated."""
    split, whole = batch_sharded(mesh), replicated(mesh)
    fields = {name: split for name in ReplayState.__dataclass_fields__}
    return ReplayState(**fields | {"steps_written": whole, "max_priority": whole})


def leading_axis_sharded(tree: Any, mesh: Mesh) -> Any:
    """Shardings for a pytree whose arrays all lead with the environment axis [E, ...]
    (the device actor's state); scalars replicated."""
    split, whole = batch_sharded(mesh), replicated(mesh)
    return jax.tree.map(lambda x: split if np.ndim(x) else whole, tree)


def place_state(state: dict[str, Any], mesh: Mesh) -> dict[str, Any]:
    """The run's state (`muzero.runtime.components.init_state`) on the mesh: the train state
    replicated, the replay and the device actor's state split along their environments, the
    loop's key replicated (orbax restores it onto one device, and a key there cannot meet
    parameters on several in one jitted call); the host-side counters are left as they are."""
    return state | {
        "train_state": jax.device_put(state["train_state"], replicated(mesh)),
        "key": jax.device_put(state["key"], replicated(mesh)),
        "replay": jax.device_put(state["replay"], replay_shardings(mesh)),
        "actor": jax.device_put(state["actor"], leading_axis_sharded(state["actor"], mesh)),
    }
