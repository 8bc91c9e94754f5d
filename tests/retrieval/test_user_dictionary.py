"""retrieval.user_dictionary: found beside the config, checked when read, and in the index's fingerprint."""

import pytest

from pipeline import ingest
from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.retrieval.lexical import LexicalIndex, lexical_index_path
from tests.helpers import fake_settings

NAME = "苏州工业园区管理委员会"


def _terms(settings) -> set[str]:
    tokenizer = settings.retrieval.tokenizer()
    path = lexical_index_path(settings.store.path, "docs-fake")
    index = LexicalIndex(path, tokenizer_fingerprint=tokenizer.fingerprint)
    try:
        assert index.is_current
        return {term for counts in index.snapshot().values() for term in counts}
    finally:
        index.close()


def test_the_dictionary_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "names.dict").write_text(f"{NAME}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text("retrieval:\n  user_dictionary: names.dict\n", encoding="utf-8")
    settings = load_settings(tmp_path / "config.yaml")
    assert settings.retrieval.user_dictionary == (tmp_path / "names.dict").resolve()
    assert NAME in settings.retrieval.tokenizer().tokenize(f"{NAME}发布通知")


def test_a_missing_dictionary_is_a_config_error_naming_the_file(tmp_path):
    (tmp_path / "config.yaml").write_text("retrieval:\n  user_dictionary: lists/names.dict\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"retrieval\.user_dictionary: cannot read .*lists/names\.dict"):
        load_settings(tmp_path / "config.yaml")


def test_editing_the_dictionary_rebuilds_the_lexical_index_of_a_store(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text(f"{NAME}发布关于园区企业补贴的通知。", encoding="utf-8")
    dictionary = tmp_path / "names.dict"
    dictionary.write_text("园区企业\n", encoding="utf-8")
    settings = fake_settings(tmp_path / "store", retrieval={"user_dictionary": str(dictionary)})
    ingest(docs, config=settings)
    before = _terms(settings)
    assert "园区企业" in before and NAME not in before

    dictionary.write_text(f"园区企业\n{NAME}\n", encoding="utf-8")
    settings = fake_settings(tmp_path / "store", retrieval={"user_dictionary": str(dictionary)})
    report = ingest(docs, config=settings)
    assert report.files_unchanged == 1 and report.chunks_embedded == 0
    assert NAME in _terms(settings)
