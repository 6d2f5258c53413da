from pathlib import Path

import pytest

from mercap.settings import available_profiles, load_settings


def test_profiles_load_and_the_offline_profile_is_the_default():
    assert {"offline", "production"} <= set(available_profiles())
    settings = load_settings(environ={})
    assert settings.profile == "offline"
    assert settings.runner.kind == "threads"
    assert load_settings("production", environ={}).runner.kind == "dask"


def test_environment_overrides_the_profile_with_typed_values():
    env = {
        "MERCAP_INGEST__MIN_DURATION_S": "3.5",
        "MERCAP_RUNNER__WORKERS": "4",
        "MERCAP_HOME": "/elsewhere",
    }
    settings = load_settings("offline", environ=env)
    assert settings.ingest.min_duration_s == 3.5
    assert settings.runner.workers == 4


def test_explicit_overrides_beat_the_environment():
    env = {"MERCAP_WORKSPACE": "/from/env"}
    assert load_settings(overrides={"workspace": "/explicit"}, environ=env).workspace == Path(
        "/explicit"
    )
    assert load_settings(environ=env).workspace == Path("/from/env")


def test_profile_selected_by_environment_and_unknown_profile_is_a_clear_error():
    assert load_settings(environ={"MERCAP_PROFILE": "production"}).profile == "production"
    with pytest.raises(ValueError, match="unknown profile 'nope'.*offline"):
        load_settings("nope", environ={})


def test_a_misspelt_setting_is_rejected():
    with pytest.raises(ValueError, match="min_durration_s"):
        load_settings(overrides={"ingest": {"min_durration_s": 1}}, environ={})
