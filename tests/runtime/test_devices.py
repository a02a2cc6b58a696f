"""The device line a run prints at start, and its warnings: a GPU machine training on its CPU,
an Atari preset on a CPU."""

from types import SimpleNamespace

import jax
import pytest

from muzero.runtime import devices


def fake(platform, kind="cpu"):
    return SimpleNamespace(platform=platform, device_kind=kind)


def test_the_device_line_names_the_kind_platform_and_count():
    assert devices.describe([fake("cpu")]) == "device: cpu (1 device)"
    h200s = [fake("gpu", "NVIDIA H200")] * 8
    assert devices.describe(h200s) == "device: NVIDIA H200 (gpu, 8 devices)"
    assert devices.describe(jax.devices()).startswith("device: cpu (")  # the tests run on CPU


def test_an_atari_preset_on_a_cpu_is_warned_about():
    (warning,) = devices.cpu_warnings("ALE/Breakout", "cpu", nvidia_gpu=False)
    assert warning.startswith("warning: ALE/Breakout runs on the CPU")
    assert "GPU" in warning and "make install CUDA=1" in warning
    assert devices.cpu_warnings("ALE/Breakout", "gpu", nvidia_gpu=True) == []


def test_a_gpu_left_unused_is_warned_about_for_every_env():
    (warning,) = devices.cpu_warnings("tic_tac_toe", "cpu", nvidia_gpu=True)
    assert "NVIDIA GPU" in warning and "make install CUDA=1" in warning
    assert len(devices.cpu_warnings("ALE/Pong", "cpu", nvidia_gpu=True)) == 2
    assert devices.cpu_warnings("tic_tac_toe", "cpu", nvidia_gpu=False) == []
    assert devices.cpu_warnings("CartPole-v1", "gpu", nvidia_gpu=True) == []


@pytest.mark.parametrize(
    "nvidia_smi,environ,expected",
    [
        ("/usr/bin/nvidia-smi", {}, True),
        ("/usr/bin/nvidia-smi", {"JAX_PLATFORMS": "cpu"}, False),  # the CPU on purpose
        (None, {}, False),
    ],
)
def test_a_gpu_is_expected_where_nvidia_smi_is(monkeypatch, nvidia_smi, environ, expected):
    monkeypatch.setattr(devices.shutil, "which", lambda name: nvidia_smi)
    assert devices.nvidia_gpu_expected(environ) is expected
