"""A folder holding every hostile case at once, ingested by the real command, links off and on."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline.config import load_settings
from pipeline.paths import path_text
from pipeline.state.manifest import Manifest
from tests import hostile_files

pytestmark = pytest.mark.slow

# "文件" in GBK is \xce\xc4\xbc\xfe; its middle two bytes happen to be UTF-8 ("ļ"), so only the others are escaped.
STORED = {"plain.txt", "bad\\xff.txt", "\\xceļ\\xfe.txt", "\\xceļ\\xfe/note.txt", "sub/inner.md", "deep.html",
          "flate-bomb.pdf"}
REFUSED = {
    "overflow.pdf": "corrupt", "repeated-page.pdf": "too_large", "dtd-after-comment.docx": "corrupt",
    "dtd-utf16.docx": "corrupt", "program.txt": "unsupported", "pipe.txt": "unsupported", "zero.txt": "unsupported",
    "outside-link": "unsupported", "secret-link.txt": "unsupported",
}
# Links to what the walk reaches anyway: reported when links are not followed, read once when they are.
LINKS_INSIDE = {"inner-link.md", "sub/loop"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, Path]:
    return hostile_files.hostile_folder(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("follow", [False, True])
def test_every_file_is_accounted_for_and_nothing_leaves_the_folder(hostile, tmp_path, follow) -> None:
    docs, outside = hostile
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "default_model": "fake",
        "models": {"fake": {"kind": "hashing", "dimension": 64, "max_seq_length": 64, "batch_size": 8}},
        "store": {"path": str(tmp_path / "store")},
        "walk": {"follow_symlinks": follow},
    }), encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run([Path(sys.executable).with_name("ingest"), str(docs), "--config", str(config), "--json"],
                          capture_output=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    assert done.returncode == 1, done.stderr.decode(errors="replace")[-2000:]
    report = json.loads(done.stdout)
    assert seconds < 180

    prefix = path_text(docs) + "/"
    refused = {error["path"].removeprefix(prefix): error["category"] for error in report["errors"]}
    expected = dict(REFUSED) if follow else {**REFUSED, **{link: "unsupported" for link in LINKS_INSIDE}}
    assert refused == expected

    settings = load_settings(config)
    manifest = Manifest(settings.store.local_dir, report["collection"])
    stored = {record.path.removeprefix(prefix) for record in manifest.all_records()}
    manifest.close()
    assert stored == STORED
    assert report["files_ingested"] == len(STORED) and report["files_failed"] == len(expected)
    assert not any(path_text(outside) in error["path"] for error in report["errors"])
