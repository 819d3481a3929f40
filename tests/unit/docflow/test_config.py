"""CADESPLUGIN_API_URL: where the site serves CryptoPro's cadesplugin_api.js."""

from __future__ import annotations

from pathlib import Path

import pytest

from docflow.config import ConfigError, Settings


def test_cadesplugin_api_url_is_off_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CADESPLUGIN_API_URL", raising=False)
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert settings.web.cadesplugin_api_url is None


def test_cadesplugin_api_url_takes_a_path_on_this_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "/static/vendor/cadesplugin/cadesplugin_api.js"
    monkeypatch.setenv("CADESPLUGIN_API_URL", path)
    settings = Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
    assert settings.web.cadesplugin_api_url == path


@pytest.mark.parametrize(
    "value",
    [
        "https://www.cryptopro.ru/cadesplugin_api.js",
        "//cdn.example/cadesplugin_api.js",
        "/\\cdn.example/cadesplugin_api.js",
        "static/cadesplugin_api.js",
    ],
)
def test_cadesplugin_api_url_refuses_other_origins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CADESPLUGIN_API_URL", value)
    with pytest.raises(ConfigError, match="CADESPLUGIN_API_URL"):
        Settings.from_env(var_dir=tmp_path, secret_key="x" * 32)
