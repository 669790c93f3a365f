"""The package layout tells the story of one run (SPEC section 11, STYLE.md): a stage
imports the stages before it, never one after it (model <- live <- plan <- apply <- report).
Lazy imports inside functions count too: they are still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hipaactl"
STAGES = ("model", "live", "plan", "apply", "report")
# What each stage may not import: every stage after it.
FORBIDDEN = {stage: set(STAGES[i + 1 :]) for i, stage in enumerate(STAGES)}
# model is the bottom: it imports no stage, nor config, policy or providers.
FORBIDDEN["model"] |= {"config", "policy", "providers", "pipeline", "commands", "cli"}
TOP_LEVEL_LIMIT = 8


def _imported_modules(source: Path) -> set[str]:
    tree = ast.parse(source.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n == "hipaactl" or n.startswith("hipaactl.")}


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _modules_of(stage: str) -> list[Path]:
    return sorted((PACKAGE / stage).rglob("*.py"))


@pytest.mark.parametrize("stage", STAGES)
def test_stage_imports_no_later_stage(stage: str) -> None:
    offending = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in _modules_of(stage)
        for module in sorted(_imported_modules(path))
        if _stage_of(module) in FORBIDDEN[stage]
    ]
    assert offending == []


def test_every_stage_folder_says_what_it_takes_and_gives() -> None:
    for stage in (*STAGES, "config", "providers", "policy"):
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text("utf-8")))
        assert doc, f"hipaactl/{stage}/__init__.py has no docstring"


def test_top_level_holds_few_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= TOP_LEVEL_LIMIT, modules


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from hipaactl.plan.desired import x\n", "utf-8")
    assert _stage_of(next(iter(_imported_modules(source)))) in FORBIDDEN["live"]


# Folders whose functions other parts of the package call: their faces need docstrings.
FACE_FOLDERS = (*STAGES, "config", "providers", "policy")


def _imports_from_elsewhere(package: Path) -> set[tuple[str, str]]:
    """(module, name) for each ``from hipaactl.X.Y import name`` made outside folder X."""
    found: set[tuple[str, str]] = set()
    for path in package.rglob("*.py"):
        folder = path.relative_to(package).parts[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and _stage_of(node.module) not in (None, folder)
            ):
                found.update((node.module, alias.name) for alias in node.names)
    return found


def _faces_without_docstring(package: Path, folders: tuple[str, ...]) -> list[str]:
    """Public functions, and public methods of classes, that another folder imports."""
    imported = _imports_from_elsewhere(package)
    missing = []
    for folder in folders:
        for path in sorted((package / folder).rglob("*.py")):
            parts = path.relative_to(package).with_suffix("").parts
            module = ".".join(("hipaactl", *parts)).removesuffix(".__init__")
            for node in ast.parse(path.read_text("utf-8")).body:
                if (module, getattr(node, "name", "")) not in imported:
                    continue
                members = node.body if isinstance(node, ast.ClassDef) else [node]
                missing.extend(
                    f"{path.relative_to(package)}:{member.lineno} {member.name}"
                    for member in members
                    if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                    and not member.name.startswith("_")
                    and ast.get_docstring(member) is None
                )
    return missing


def test_every_stage_face_has_a_docstring() -> None:
    assert _faces_without_docstring(PACKAGE, FACE_FOLDERS) == []


def test_the_checker_sees_a_face_without_docstring(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "live").mkdir()
    (tmp_path / "model" / "a.py").write_text(
        'def face():\n    pass\n\ndef kept():\n    """Has one."""\n', "utf-8"
    )
    (tmp_path / "live" / "b.py").write_text("from hipaactl.model.a import face, kept\n", "utf-8")
    assert _faces_without_docstring(tmp_path, ("model", "live")) == ["model/a.py:1 face"]
