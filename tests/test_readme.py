"""The README's agent examples run as written (on smoke runs instead of full runs)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_agent_example_runs(smoke_run):
    smoke_run_dir, _ = smoke_run
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if "muzero.Agent.load" in b)
    code = re.sub(
        r'muzero\.Agent\.load\("[^"]+"\)', f'muzero.Agent.load("{smoke_run_dir}")', example
    )
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert result.policy.shape == (9,)


def test_readme_atari_agent_example_runs(atari_smoke_run):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if "ALE/Pong-v5" in b)
    code = re.sub(
        r'muzero\.Agent\.load\("[^"]+"\)', f'muzero.Agent.load("{atari_smoke_run}")', example
    )
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    # The agent the example leaves behind searches on from gymnasium's next raw frame.
    agent, observation = namespace["agent"], namespace["observation"]
    assert 0 <= agent._prev_action < agent.spec.num_actions  # it acted, legally
    result = agent.search(observation)
    assert result.policy.shape == (agent.spec.num_actions,)
    assert result.policy.sum() == pytest.approx(1.0, abs=1e-5)
