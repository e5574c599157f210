"""Test helpers for folders: their bytes, and how two of them differ."""

from __future__ import annotations

import filecmp
from pathlib import Path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path, with its bytes ({} for no folder)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def tree_differences(a: Path, b: Path) -> list[str]:
    """Relative paths that are missing on one side or differ in bytes."""
    differences: list[str] = []
    stack = [(filecmp.dircmp(a, b), "")]
    while stack:
        node, prefix = stack.pop()
        differences += [prefix + name for name in node.left_only + node.right_only]
        _same, mismatch, errors = filecmp.cmpfiles(node.left, node.right, node.common_files,
                                                   shallow=False)
        differences += [prefix + name for name in mismatch + errors]
        stack += [(sub, f"{prefix}{name}/") for name, sub in node.subdirs.items()]
    return sorted(differences)


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write files (text or bytes) under a folder, making folders; return the folder."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, "utf-8")
    return root
