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


PENGUINS = "model_name: penguins\ndata: {label: species, exclude: [year]}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "drift: {features: {body_mass_g: {jss: 0.2}}}",
            "field 'drift.features.body_mass_g.jss': Extra inputs are not permitted (known: js,",
        ),
        ("drift: {features: {body_mass_g: {js: 2}}}", "'drift.features.body_mass_g.js': must be"),
        ("drift: {features: {body_mass_g: {linf: -1}}}", "'drift.features.body_mass_g.linf'"),
        ("drift: {weights: {body_mass_g: -0.5}}", "'drift.weights.body_mass_g': Input should be"),
        ("drift: {weights: {year: 2}}", "'drift.weights.year': 'year' is in data.exclude"),
        ("drift: {features: {species: {js: 0.2}}}", "'drift.features.species': 'species' is the"),
        ("evaluation: {slices: [year]}", "'evaluation.slices': 'year' is in data.exclude"),
        ("performance: {thresholds: {accuracy: 80}}", "'performance.thresholds.accuracy': 80.0 is"),
        ("performance: {thresholds: {rmse: -2}}", "'performance.thresholds.rmse': -2.0 is"),
        ("performance: {thresholds: {accuracy: .nan}}", "nan is not a finite number"),
        ("evaluation: {value_thresholds: {r2: 1.5}}", "'evaluation.value_thresholds.r2': 1.5 is"),
        ("evaluation: {value_thresholds: {f1: -0.1}}", "-0.1 is outside [0, 1]"),
        ("evaluation: {change_thresholds: {accuracy: -0.05}}", "-0.05 is negative"),
        ("evaluation: {change_thresholds: {accuracy: 2}}", "2.0 is outside [0, 1]"),
        ("validation: {ranges: {body_mass_g: [7000, 2000]}}", "'validation.ranges.body_mass_g'"),
        ("validation: {ranges: {body_mass_g: [0, .inf]}}", "not a range of finite numbers"),
        ("training: {keras: {hidden_units: [32, 0]}}", "'training.keras.hidden_units'"),
        ("training: {keras: {batch_size: 0}}", "'training.keras.batch_size': 0 is not auto"),
        ("registry_uri: /mnt/models", "field 'registry_uri': '/mnt/models' is outside /registry"),
        ("registry_uri: /registry/../etc", "field 'registry_uri'"),
        ("registry_uri: /registry2", "field 'registry_uri'"),
        (
            "platform: {data_pvc: batches}\nbatch_uri: /incoming",
            "field 'batch_uri': '/incoming' is outside /data, where platform.data_pvc",
        ),
        ("platform: {registry_mount_path: registry}", "'platform.registry_mount_path'"),
        ("data: {label: species, exclude: [species]}", "'data.exclude': names the label column"),
        ("data: {label: species, key: id, features: [id]}", "'data.features': names the key"),
        ("data: {label: y, features: [a], exclude: [a]}", "'data.exclude': 'a' is also in"),
        ("platform: {gpu: {tolerations: [{toleration_seconds: -1}]}}", "toleration_seconds"),
    ],
)
def test_the_whole_config_is_checked_at_load(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config(PENGUINS + text, "mine.yaml")
    assert str(error.value).startswith("mine.yaml: field '")
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "text",
    [
        "drift: {features: {body_mass_g: {js: auto, ks_pvalue: 0.01}}, weights: {island: 0}}",
        "evaluation: {slices: [island, species], value_thresholds: {rmse: 80, r2: -3}}",
        "registry_uri: /registry/team-a\nplatform: {data_pvc: batches}\nbatch_uri: /data/x",
        "platform: {registry_pvc: null}\nregistry_uri: /anywhere",
        "platform: {data_pvc: batches}\nbatch_uri: s3://bucket/batches",
        "validation: {ranges: {body_mass_g: [2000, 2000]}}",
    ],
)
def test_settings_inside_their_domains_load(text):
    parse_config(PENGUINS + text, "mine.yaml")


def test_feature_overrides_apply_only_what_they_set():
    config = parse_config(
        PENGUINS + "drift: {thresholds: {js: 0.3}, features: {island: {linf: 0.5}}}", "c.yaml"
    )
    again = type(config.drift).model_validate_json(config.drift.model_dump_json())
    assert again.thresholds_for("island").model_dump() == {
        "js": 0.3,
        "psi": None,
        "linf": 0.5,
        "wasserstein": None,
        "ks_pvalue": None,
    }


def test_columns_are_checked_against_data_features_or_the_batch(tmp_path):
    from driftgate.pipelines.config_checks import check_batch_columns

    with pytest.raises(ConfigError, match=r"'sex' is not among data\.features; name one of"):
        parse_config(
            "data: {label: species, features: [island]}\nevaluation: {slices: [sex]}", "c.yaml"
        )
    config = parse_config(PENGUINS + "evaluation: {slices: [islnd]}", "c.yaml")  # unknowable
    batch = tmp_path / "b.csv"
    batch.write_text("island,sex,year,species\nDream,male,2009,Adelie\n")
    with pytest.raises(ConfigError) as error:
        check_batch_columns(config, str(batch))
    assert str(error.value) == (
        f"{batch}: field 'evaluation.slices': 'islnd' is not among the batch's columns; "
        "name one of island, sex"
    )
    check_batch_columns(config, str(tmp_path / "missing.csv"))  # left to the pipeline's error
