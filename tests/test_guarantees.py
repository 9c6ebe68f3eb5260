"""The README's Guarantees table names real tests: each `path::name` it cites exists."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITED = re.compile(r"`((?:tests|e2e)/[\w/]+\.py)::(\w+)`")


def guarantees() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]


def test_every_cited_test_exists() -> None:
    cited = CITED.findall(guarantees())
    assert len(cited) > 30
    missing = []
    for path, name in cited:
        source = ROOT / path
        tree = ast.parse(source.read_text()) if source.exists() else ast.Module(body=[])
        names = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if name not in names:
            missing.append(f"{path}::{name}")
    assert missing == []
