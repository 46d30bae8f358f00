"""grokutils.files: the one atomic write that results, checkpoints and cached encoders use."""

from __future__ import annotations

import pytest

from grokutils.files import atomic_write


class WriteFailed(RuntimeError):
    pass


def failing_writer(handle):
    handle.write(b"half of it")
    raise WriteFailed("interrupted")


def test_a_failing_writer_leaves_no_file_and_no_temporary(tmp_path):
    path = tmp_path / "sub" / "result.json"
    with pytest.raises(WriteFailed):
        atomic_write(path, failing_writer)
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(b"old content")
    with pytest.raises(WriteFailed):
        atomic_write(path, failing_writer)
    assert path.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_an_existing_file_is_replaced_whole(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(b"a much longer old content than the new one")
    atomic_write(str(path), lambda handle: handle.write(b"new"))
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
