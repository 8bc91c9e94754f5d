import os
import time
from pathlib import Path

import pytest

from pipeline.config import WalkSettings
from pipeline.errors import ConfigError
from pipeline.records import FileError
from pipeline.steps.walk import walk_files


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.txt").write_text("a", encoding="utf-8")
    (root / "sub" / "b.md").write_text("b", encoding="utf-8")
    (root / ".git" / "config.txt").write_text("hidden", encoding="utf-8")
    (root / ".notes.txt").write_text("hidden", encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    (root / "link-out.txt").symlink_to(outside)
    (root / "link-in.txt").symlink_to(root / "a.txt")
    return root


def _names(entries) -> list[str]:
    return [entry.name for entry in entries if isinstance(entry, Path)]


def _refused(entries) -> dict[str, FileError]:
    return {Path(entry.path).name: entry for entry in entries if isinstance(entry, FileError)}


def test_hidden_files_and_links_are_skipped_by_default(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    entries = list(walk_files([root], WalkSettings()))
    assert _names(entries) == ["a.txt", "b.md"]
    # The links are accounted for, not read.
    refused = _refused(entries)
    assert set(refused) == {"link-in.txt", "link-out.txt"}
    assert all(e.category == "unsupported" and "follow_symlinks" in e.message for e in refused.values())


def test_followed_links_never_leave_the_roots(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    entries = list(walk_files([root], WalkSettings(follow_symlinks=True)))
    # link-in.txt is a.txt again: read once, under its own name.
    assert _names(entries) == ["a.txt", "b.md"]
    assert "outside" in _refused(entries)["link-out.txt"].message


def test_linked_folders_never_leave_the_roots_and_loops_are_cut(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("secret", encoding="utf-8")
    (root / "sub" / "b.txt").write_text("b", encoding="utf-8")
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "hidden-target").symlink_to(root / "sub", target_is_directory=True)
    entries = list(walk_files([root], WalkSettings(follow_symlinks=True)))
    assert [entry for entry in entries if isinstance(entry, Path)] == [root / "sub" / "b.txt"]
    assert set(_refused(entries)) == {"out"}


def test_pipes_and_devices_are_reported_at_once_not_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "pipe.txt")
    (root / "zero.txt").symlink_to("/dev/zero")
    (root / "dev").symlink_to("/dev", target_is_directory=True)
    started = time.monotonic()
    refused = _refused(walk_files([root, "/dev/null"], WalkSettings(follow_symlinks=True)))
    assert time.monotonic() - started < 5
    assert "named pipe" in refused["pipe.txt"].message and refused["pipe.txt"].category == "unsupported"
    assert "outside" in refused["zero.txt"].message and "outside" in refused["dev"].message
    assert "character device" in refused["null"].message


def test_names_that_are_not_utf8_are_walked_and_recorded_as_text(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    names = [b"bad\xff.txt", "文件".encode("gbk") + b".txt"]
    for name in names:
        (root / os.fsdecode(name)).write_text("hello", encoding="utf-8")
    (root / os.fsdecode(b"big\xfe.txt")).write_bytes(b"x" * 2_000_000)
    entries = list(walk_files([root], WalkSettings(max_file_mb=1)))
    assert sorted(os.fsencode(entry.name) for entry in entries if isinstance(entry, Path)) == sorted(names)
    [too_large] = [entry for entry in entries if isinstance(entry, FileError)]
    assert too_large.path.endswith("big\\xfe.txt")
    too_large.path.encode("utf-8")  # storable in SQLite, Chroma and JSON


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root lists every folder")
    root = tmp_path / "root"
    (root / "locked").mkdir(parents=True)
    (root / "locked").chmod(0)
    try:
        assert "cannot list folder" in _refused(walk_files([root], WalkSettings()))["locked"].message
    finally:
        (root / "locked").chmod(0o755)


def test_files_over_the_size_limit_are_reported_not_read(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    (root / "huge.txt").write_bytes(b"x" * 2_000_000)
    [entry] = list(walk_files([root], WalkSettings(max_file_mb=1)))
    assert isinstance(entry, FileError) and entry.category == "too_large"
    assert "walk.max_file_mb" in entry.message


def test_a_file_named_twice_is_seen_once(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert _names(walk_files([root, root / "a.txt"], WalkSettings())) == ["a.txt", "b.md"]


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        list(walk_files([tmp_path / "nope"], WalkSettings()))
