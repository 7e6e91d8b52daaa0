"""Atomic writes: all or nothing, and files as readable as a plain open() would make them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fmsbench.atomic import atomic_path, sweep_temporaries, write_text_atomic


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    write_text_atomic(target, "old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_written_files_follow_the_umask_like_open(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("x")
    write_text_atomic(tmp_path / "atomic.txt", "x")
    mode = stat.S_IMODE(os.stat(tmp_path / "atomic.txt").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)


def test_the_next_write_of_a_target_removes_what_killed_writes_of_it_left(tmp_path: Path) -> None:
    stale = [tmp_path / ".result.json.k1ll3d_0.tmp", tmp_path / ".result.json.zz9_aaaa.tmp"]
    others = [tmp_path / ".result.json.bak.k1ll3d_0.tmp", tmp_path / ".other.json.k1ll3d_0.tmp",
              tmp_path / ".result.json.short.tmp"]
    for path in stale + others:
        path.write_text("half")
    write_text_atomic(tmp_path / "result.json", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["result.json", *(p.name for p in others)])
    sweep_temporaries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".result.json.short.tmp", "result.json"]
