"""The README's agent example runs as written (on a smoke run instead of a tictactoe run)."""

import pathlib
import re

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
