"""Atomic outputs: write into a temporary sibling, then rename into place.

A stage killed mid-write leaves the previous output (or none) and a hidden temporary sibling; it never
leaves a half-written target. The next run removes temporaries whose writing process is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_TMP_TAG = ".tmp-"
_OLD_TAG = ".old-"


def _sibling(target: Path, tag: str) -> Path:
    # The pid in the name lets a later run tell a crashed writer's leftovers from a live writer's.
    return target.parent / f".{target.name}{tag}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(target: Path) -> None:
    """Delete temporaries of `target` left by writers that no longer run (killed, power loss)."""
    if not target.parent.is_dir():
        return
    for tag in (_TMP_TAG, _OLD_TAG):
        for path in target.parent.glob(f".{target.name}{tag}*"):
            pid_text = path.name[len(f".{target.name}{tag}") :].split("-", 1)[0]
            if pid_text.isdigit() and _pid_alive(int(pid_text)) and int(pid_text) != os.getpid():
                continue
            log.info("removing stale temporary %s", path)
            _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_dir(path: Path) -> None:
    # Make the rename itself durable; some file systems do not allow opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success rename it onto `target`, on failure delete it.

    The caller writes the whole file to the yielded path (by name, so any writer library works).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = _sibling(target, _TMP_TAG)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"atomic_file: nothing was written to {tmp} for {target}")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        # BaseException too: Ctrl-C or SystemExit mid-write must not leave the temporary behind.
        _remove(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield an empty temporary directory next to `target`; on success it replaces `target` whole.

    A directory cannot be renamed over a non-empty one, so the old `target` is first renamed aside and
    deleted after the swap; a crash between the two renames leaves no `target` (never a partial one),
    and the next run writes it afresh.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = _sibling(target, _TMP_TAG)
    tmp.mkdir()
    try:
        yield tmp
        old = _sibling(target, _OLD_TAG)
        if target.exists() or target.is_symlink():
            os.replace(target, old)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
        _remove(old)
    except BaseException:
        _remove(tmp)
        raise
