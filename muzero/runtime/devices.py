"""Which device a run uses, and the warnings worth giving about it: `make train` prints them at
start, so that a GPU machine without JAX's CUDA build does not train on its CPU unnoticed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence

import envs


def describe(devices: Sequence) -> str:
    """One line naming the devices JAX computes on: 'device: cpu (1 device)',
    'device: NVIDIA H200 (gpu, 8 devices)'."""
    count = f"{len(devices)} device{'' if len(devices) == 1 else 's'}"
    first = devices[0]
    if first.platform == "cpu":
        return f"device: cpu ({count})"
    return f"device: {first.device_kind} ({first.platform}, {count})"


def nvidia_gpu_expected(environ: Mapping[str, str] = os.environ) -> bool:
    """True where an NVIDIA driver is installed (`nvidia-smi` on the PATH) and JAX_PLATFORMS does
    not pick a platform on purpose (the tests set it to cpu)."""
    return shutil.which("nvidia-smi") is not None and not environ.get("JAX_PLATFORMS")


def cpu_warnings(env_id: str, platform: str, nvidia_gpu: bool) -> list[str]:
    """The warnings for a run of `env_id` on `platform` (jax.devices()[0].platform); `nvidia_gpu`:
    whether an NVIDIA GPU is there to be used (`nvidia_gpu_expected`)."""
    if platform != "cpu":
        return []
    found = []
    if nvidia_gpu:
        found.append(
            "warning: an NVIDIA GPU is installed (nvidia-smi) but JAX runs on the CPU: install "
            "JAX's CUDA build with `make install CUDA=1` (README: Install), check that the "
            "driver supports CUDA 12, or set JAX_PLATFORMS=cpu to mean it"
        )
    if envs.is_atari(env_id):
        found.append(
            f"warning: {env_id} runs on the CPU, where an update of the Atari presets' "
            "convolutional network takes seconds: enough for a smoke run, far too slow to "
            "learn; train on a GPU (`make install CUDA=1` on an NVIDIA machine)"
        )
    return found
