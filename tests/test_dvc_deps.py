"""Each DVC stage lists the code it runs among its deps, and no more: an edit to the report does not
retrain the model, and an edit to what a stage runs always reruns it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "ingest", "models", "pipeline", "simulator")


def module_file(name: str) -> Path | None:
    """The project file of module `name` ('models.reasons' -> models/reasons.py), if it is one."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_files(path: Path) -> set[Path]:
    """Project files `path` imports anywhere in its body, inside functions too (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a package's __init__ runs before its modules
                file = module_file(".".join(parts[:i]))
                if file is not None:
                    found.add(file)
    return found


def closure(entry: Path) -> set[Path]:
    seen, todo = set(), [entry]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(imported_files(path) - seen)
    return seen


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def covers(deps: list[str], path: Path) -> bool:
    relative = path.relative_to(ROOT)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps)


def substantive(path: Path) -> bool:
    """A package's __init__ that only holds a docstring changes nothing a stage computes."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return not (path.name == "__init__.py" and all(isinstance(n, ast.Expr) for n in body))


@pytest.mark.parametrize("name", sorted(stages()))
def test_a_stage_depends_on_the_code_it_runs_and_no_other(name):
    stage = stages()[name]
    entry = module_file(stage["cmd"].split("-m ")[1].split()[0])
    assert entry is not None, f"stage {name}: its command is not `python -m <project module>`"
    runs = {p for p in closure(entry) if substantive(p)}
    deps = [d for d in stage["deps"] if not d.startswith("${")]
    missing = sorted(str(p.relative_to(ROOT)) for p in runs if not covers(deps, p))
    assert not missing, f"stage {name} runs {missing} but does not list it in dvc.yaml's deps"
    unused = [d for d in deps if not any(covers([d], p) for p in runs)]
    assert not unused, f"stage {name} lists {unused} in its deps but runs none of it"
    for folder in (ROOT / d for d in deps if (ROOT / d).is_dir()):
        idle = sorted(
            str(p.relative_to(ROOT)) for p in folder.rglob("*.py") if substantive(p) and p not in runs
        )
        assert not idle, f"stage {name} depends on all of {folder.name}/ but does not run {idle}"
