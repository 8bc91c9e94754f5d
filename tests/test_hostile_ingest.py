"""Whole runs over hostile folders: no file's name, shape or content can end or stall a run."""

import json
import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import Ingestor, ingest, query
from pipeline.engines.pool import prepare_all
from pipeline.paths import path_text
from pipeline.state.manifest import Manifest
from pipeline.steps.parse import FilePreparer
from tests import hostile_files
from tests.helpers import fake_settings


def _errors_file(report) -> list[dict]:
    return [json.loads(line) for line in Path(report.errors_file).read_text(encoding="utf-8").splitlines()]


def test_names_that_are_not_utf8_are_ingested_recorded_and_shown(tmp_path, make_settings) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    latin, gbk = hostile_files.non_utf8_texts(folder)
    (folder / os.fsdecode("公告".encode("gbk") + b".rtf")).write_text("not supported", encoding="utf-8")
    config = make_settings()
    report = ingest(folder, config=config)

    assert report.files_ingested == 2 and [e.category for e in report.errors] == ["unsupported"]
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # the --json output
    [line] = _errors_file(report)
    assert line["path"].endswith("\\xb9\\xab\\xb8\\xe6.rtf") and line["shown"].endswith("公告.rtf")
    sources = {hit.source for hit in query("reservoirs", k=5, config=config, mode="lexical")}
    assert sources == {path_text(latin), path_text(gbk)} and path_text(latin).endswith("/bad\\xff.txt")

    again = ingest(folder, config=config)
    assert (again.files_unchanged, again.files_ingested) == (2, 0)
    latin.unlink()
    pruned = ingest(folder, config=config)
    assert pruned.files_removed == 1
    manifest = Manifest(config.store.local_dir, Ingestor(settings=config).collection)
    assert [record.path for record in manifest.all_records()] == [path_text(gbk)]
    manifest.close()


def test_a_large_pdf_with_an_overflowing_startxref_is_corrupt_and_the_rest_stored(tmp_path, make_settings) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    hostile_files.overflowing_startxref_pdf(folder / "overflow.pdf")
    (folder / "plain.txt").write_text(hostile_files.ORDINARY_TEXT, encoding="utf-8")
    # Two workers: a PDF this large is counted in the main process to share its pages out.
    report = ingest(folder, config=make_settings(walk={"prepare_workers": 2}))
    assert report.files_ingested == 1
    assert [(Path(e.path).name, e.category) for e in report.errors] == [("overflow.pdf", "corrupt")]


def test_pipes_are_reported_at_once_and_not_waited_for(tmp_path, make_settings) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "plain.txt").write_text(hostile_files.ORDINARY_TEXT, encoding="utf-8")
    started = time.monotonic()
    report = ingest(folder, config=make_settings(walk={"prepare_workers": 2, "file_timeout_s": 60}))
    assert time.monotonic() - started < 30
    assert report.files_ingested == 1 and [e.category for e in report.errors] == ["unsupported"]


def test_the_time_limit_is_the_files_not_each_part_of_it(tmp_path, make_settings) -> None:
    # 4,900 listings of one page: about 7 s of parsing on a quiet 2-core machine, summed over 49
    # parts of under 0.1 s each, so only a limit on the whole file stops it.
    pdf = hostile_files.repeated_page_pdf(tmp_path / "repeated.pdf", repeats=4900)
    ingestor = Ingestor(settings=make_settings())
    preparer: FilePreparer = ingestor.preparer
    started = time.monotonic()
    [result] = prepare_all(preparer, [pdf], window=4, workers=2, timeout_s=1.0, pdf_pages_per_task=100)
    assert result.error is not None and result.error.category == "timeout"
    assert "walk.file_timeout_s" in result.error.message
    assert time.monotonic() - started < 8


_NAME_BYTES = st.binary(min_size=1, max_size=12).map(lambda raw: raw.replace(b"/", b"_").replace(b"\0", b"_")).filter(
    lambda raw: raw not in (b".", b".."))
_SHAPES = st.lists(st.tuples(st.integers(0, 5), _NAME_BYTES, st.sampled_from(["txt", "md", "dir", "link", "pipe"])),
                   min_size=1, max_size=12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=_SHAPES)
def test_any_names_and_folder_shapes_give_a_report_that_accounts_for_every_file(tmp_path_factory, shape) -> None:
    base = tmp_path_factory.mktemp("shape")
    root = base / "docs"
    root.mkdir()
    folders, files = [root], []
    for parent, raw, kind in shape:
        folder = folders[parent % len(folders)]
        path = folder / os.fsdecode(raw + (b"" if kind in ("dir", "link", "pipe") else b"." + kind.encode()))
        if os.path.lexists(path):
            continue
        if kind == "dir":
            path.mkdir()
            folders.append(path)
        elif kind == "link":
            path.symlink_to(folders[(parent + 1) % len(folders)], target_is_directory=True)
        elif kind == "pipe":
            os.mkfifo(path)
        else:
            path.write_text(f"Reservoir note {len(files)} about pumps and water.\n", encoding="utf-8")
            files.append(path)
    config = fake_settings(base / "store", walk={"follow_symlinks": True, "skip_hidden": False, "prepare_workers": 0})
    report = ingest(root, config=config)
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")
    ingested = {path_text(path) for path in files}
    refused = {error.path for error in report.errors}
    assert report.files_ingested == len(files) - len(ingested & refused)
    assert all(error.category in ("unsupported", "empty") for error in report.errors)
    again = ingest(root, config=config)
    assert again.files_unchanged == report.files_ingested and again.chunks_added == 0
