import pytest

from driftgate.errors import ConfigError
from driftgate.pipelines.config import load_config, parse_config


def test_embedded_default_is_the_penguins_example():
    config = load_config(None)
    assert config.model_name == "penguins" and config.data.label == "species"
    assert config.evaluation.slices == ["island", "sex"]


def test_every_field_but_the_label_has_a_default():
    config = parse_config("data: {label: y}", "mine.yaml")
    assert config.training.family == "keras" and config.drift.thresholds.js == 0.1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data: {}", "field 'data.label': Field required"),
        ("data: {label: y}\ndrift: {thresholds: {js: 2}}", "field 'drift.thresholds.js'"),
        ("data: {label: y}\ntraining: {famly: keras}", "field 'training.famly': Extra inputs"),
        ("data: {label: y}\nperformance: {thresholds: {acc: 0.8}}", "unknown metric(s) ['acc']"),
        ("data: [", "is not valid YAML"),
        ("- a\n- b", "must be a YAML mapping"),
    ],
)
def test_invalid_configs_name_the_file_and_field(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config(text, "mine.yaml")
    assert str(error.value).startswith("mine.yaml: ")
    assert message in str(error.value)


def test_missing_config_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; pass --config"):
        load_config(tmp_path / "nope.yaml")
