from pathlib import Path

import pytest

from pipeline.config import WalkSettings
from pipeline.errors import ConfigError
from pipeline.records import FileError
from pipeline.walk import walk_files


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


def _names(entries) -> list[str]:  # noqa: ANN001
    return [entry.name for entry in entries if isinstance(entry, Path)]


def test_hidden_files_and_links_are_skipped_by_default(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert _names(walk_files([root], WalkSettings())) == ["a.txt", "b.md"]


def test_followed_links_never_leave_the_roots(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    names = _names(walk_files([root], WalkSettings(follow_symlinks=True)))
    assert "link-in.txt" in names and "link-out.txt" not in names


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
