"""`make train` names its device before anything else, with the warnings that go with it."""

import pytest

from configs import get_preset


def test_train_says_its_device_and_warns_of_atari_on_a_cpu(monkeypatch, capsys):
    from muzero.cli.train import train
    from muzero.runtime import checkpointing, devices, training
    from muzero.runtime.components import check_config

    def stop(*args, **kwargs):
        raise checkpointing.CheckpointError("stopped before training")

    monkeypatch.setattr(training, "run", stop)
    monkeypatch.setattr(devices, "nvidia_gpu_expected", lambda: True)
    config = get_preset("atari_smoke")
    with pytest.raises(SystemExit):
        train(config, check_config(config), None)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("device: cpu (")
    assert "NVIDIA GPU is installed" in lines[1] and "make install CUDA=1" in lines[1]
    assert lines[2].startswith(f"warning: {config.env.id} runs on the CPU")
    assert lines[3].startswith("replay: ")
