"""Atomic writes: a failure mid-write leaves the previous output untouched and no temporaries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.atomic import atomic_dir, atomic_file


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_atomic_file_replaces_target_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_file(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert _siblings(target) == ["out.txt"]


def test_atomic_file_keeps_old_target_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert _siblings(target) == ["out.txt"]


def test_atomic_dir_swaps_whole_directory(tmp_path: Path) -> None:
    target = tmp_path / "clean"
    target.mkdir()
    (target / "stale.parquet").write_text("stale")
    with atomic_dir(target) as tmp:
        (tmp / "a.parquet").write_text("a")
    assert sorted(p.name for p in target.iterdir()) == ["a.parquet"]
    assert _siblings(target) == ["clean"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_atomic_dir_failure_leaves_previous_output(tmp_path: Path, exc: type[BaseException]) -> None:
    target = tmp_path / "clean"
    target.mkdir()
    (target / "a.parquet").write_text("previous")
    with pytest.raises(exc), atomic_dir(target) as tmp:
        (tmp / "a.parquet").write_text("partial")
        raise exc()
    assert (target / "a.parquet").read_text() == "previous"
    assert _siblings(target) == ["clean"]


def test_next_run_removes_leftovers_of_a_killed_writer(tmp_path: Path) -> None:
    target = tmp_path / "clean"
    dead_pid = 2**22 + 1  # above the default pid_max, so never a live process
    leftover = tmp_path / f".clean.tmp-{dead_pid}-deadbeef"
    leftover.mkdir()
    (leftover / "a.parquet").write_text("partial")
    with atomic_dir(target) as tmp:
        (tmp / "a.parquet").write_text("a")
    assert _siblings(target) == ["clean"]
    assert os.path.exists(target / "a.parquet")
