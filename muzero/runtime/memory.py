"""How much memory the replay takes, and whether it fits: checked before anything is allocated."""

from __future__ import annotations

import pathlib

import jax
import numpy as np

from muzero.config import Config
from muzero.replay import buffer as replay_lib
from muzero.types import EnvSpec


def describe(num_bytes: float) -> str:
    """Bytes as a short human figure: '9.22 GB' (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.2f} {unit}"
    return f"{int(num_bytes)} B"


def _meminfo(field: str) -> int | None:
    path = pathlib.Path("/proc/meminfo")
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return None


def free_host_bytes() -> int | None:
    """MemAvailable of this machine (Linux), None where it cannot be read."""
    return _meminfo("MemAvailable")


def free_device_bytes(device) -> int | None:
    """Free memory of a JAX device where the backend reports it (GPU, TPU), else None."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if not stats or "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def replay_bytes(config: Config, spec: EnvSpec) -> tuple[int, int]:
    """(storage, storage + working set) in bytes. The working set is what the replay has in
    flight besides its storage: one acting chunk of T x E records on its way in and one
    training batch of B observation histories on its way out, counted twice (the frames
    gathered from the ring, then stacked with their action planes)."""
    from muzero.replay.history import stacked_dtype, stacked_shape

    h = config.history
    storage = replay_lib.replay_bytes(spec, config.actor.num_envs, config.replay_steps_per_env)
    chunk = replay_lib.replay_bytes(spec, config.actor.num_envs, config.actor.unroll_length)
    stacked = stacked_shape(spec.observation_shape, h.frames, h.action_planes)
    itemsize = np.dtype(stacked_dtype(spec.observation_dtype, h.frames, h.action_planes)).itemsize
    batch = 2 * config.learner.batch_size * int(np.prod(stacked)) * itemsize
    return storage, storage + chunk + batch


def replay_summary(config: Config, spec: EnvSpec) -> str:
    """One line on what the replay holds and the memory it takes (printed at start)."""
    frames = config.actor.num_envs * config.replay_steps_per_env
    storage, total = replay_bytes(config, spec)
    shape = "x".join(str(d) for d in spec.observation_shape)
    return (
        f"replay: {frames:,} frames of {shape} {np.dtype(spec.observation_dtype).name}, each "
        f"stored once: {describe(storage)} on {jax.devices()[0].platform}; {describe(total)} "
        "with an acting chunk and a training batch in flight"
    )


def check_replay_fits(config: Config, spec: EnvSpec) -> int:
    """Refuse a replay that would not fit (ValueError); returns the bytes it needs."""
    _, needed = replay_bytes(config, spec)
    device = jax.devices()[0]
    # Checkpoints copy the replay to host memory; on a CPU backend that is the same memory.
    host_needed = needed * (2 if device.platform == "cpu" else 1)
    free = free_host_bytes()
    if free is not None and host_needed > free:
        raise ValueError(
            f"replay.capacity {config.replay.capacity:,} frames needs {describe(needed)}"
            f"{' (twice while a checkpoint is written)' if host_needed > needed else ''}, "
            f"but only {describe(free)} of host memory is free; lower replay.capacity"
            + (" or set env.grayscale" if spec.observation_shape[-1] == 3 else "")
        )
    device_free = free_device_bytes(device)
    if device.platform != "cpu" and device_free is not None and needed > device_free:
        raise ValueError(
            f"replay.capacity {config.replay.capacity:,} frames needs {describe(needed)} "
            f"of {device.device_kind} memory, but only {describe(device_free)} is free; "
            "lower replay.capacity"
        )
    return needed
