"""Settings: the seeds' variable names and durations, and what production refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.config import Settings, parse_duration_secs
from parley.config_example import env_example
from parley.errors import ConfigurationError

README = Path(__file__).parents[1] / "README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets may count, not whatever the machine exports."""
    for field in Settings.model_fields.values():
        for name in field.validation_alias.choices:  # type: ignore[union-attr]
            monkeypatch.delenv(str(name), raising=False)


@pytest.mark.parametrize(
    ("text", "secs"),
    [("15m", 900), ("168h", 604800), ("1h30m", 5400), ("90", 90), ("250ms", 0.25), (30, 30)],
)
def test_durations(text: str | int, secs: float) -> None:
    assert parse_duration_secs(text) == secs


@pytest.mark.parametrize("text", ["fifteen", "15x", "m15", "15m junk"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_secs(text)


def test_seed_variable_names_are_understood(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_PORT", "8088")
    monkeypatch.setenv("JWT_ACCESS_EXPIRY", "15m")
    monkeypatch.setenv("JWT_REFRESH_EXPIRY", "168h")
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "http://localhost:3000, http://localhost:3001")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.port == 8088
    assert settings.access_token_ttl_secs == 900
    assert settings.refresh_token_ttl_secs == 7 * 86400
    assert settings.cors_allowed_origins == ["http://localhost:3000", "http://localhost:3001"]


def test_production_needs_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "short")
    with pytest.raises(ConfigurationError, match="JWT_SECRET"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    assert Settings(_env_file=None).is_production  # type: ignore[call-arg]


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names = alias.choices if alias is not None else []  # type: ignore[union-attr]
        assert names, field
        assert f"| `{names[0]}` |" in readme, f"{names[0]} is missing from the README table"


ENV_EXAMPLE = Path(__file__).parents[1] / ".env.example"


def test_the_env_example_is_the_generated_one() -> None:
    """Every setting, its description and default, exactly as `config.py` has them."""
    assert ENV_EXAMPLE.read_text() == env_example(), (
        ".env.example is stale: python -m parley config example > .env.example"
    )


def test_the_env_example_names_every_setting_with_a_default_it_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f.validation_alias.choices[0] for f in Settings.model_fields.values()]  # type: ignore[union-attr]
    blocks = env_example().split("\n\n")[1:]  # after the header: a description, `# NAME=value`
    assigned = dict(block.splitlines()[-1].removeprefix("# ").split("=", 1) for block in blocks)
    assert sorted(assigned) == sorted(names)
    defaults = Settings(_env_file=None).model_dump()  # type: ignore[call-arg]
    for name, value in assigned.items():  # every line, uncommented, changes nothing
        if value:
            monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).model_dump() == defaults  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("text", "trusted"),
    [
        ("10.0.0.1/8,127.0.0.1", ["10.0.0.0/8", "127.0.0.1"]),
        ("::1,fd00::5/64", ["::1", "fd00::/64"]),
        ("10.0.0.1,*", ["*"]),
        ("", []),
    ],
)
def test_trusted_proxies_are_given_to_uvicorn_as_it_matches_them(
    monkeypatch: pytest.MonkeyPatch, text: str, trusted: list[str]
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", text)
    assert Settings().forwarded_allow_ips == trusted


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"REDIS_URL": "localhost:6379"}, "redis://localhost:6379"),  # GOSOCKET's form
        (
            {"REDIS_URL": "localhost:6379", "REDIS_PASSWORD": "", "REDIS_DB": "0"},
            "redis://localhost:6379/0",
        ),
        (
            {"REDIS_HOST": "cache", "REDIS_PORT": "6380", "REDIS_PASSWORD": "p@ss"},
            "redis://:p%40ss@cache:6380",
        ),
        ({"REDIS_ADDR": "cache:1234", "REDIS_DB": "2"}, "redis://cache:1234/2"),  # GoChat's
        (
            {"REDIS_URL": "redis://:x@h:1/4", "REDIS_PASSWORD": "y", "REDIS_DB": "0"},
            "redis://:x@h:1/4",
        ),
        ({}, ""),
    ],
)
def test_redis_is_named_the_seeds_ways(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings().redis_url == url


@pytest.mark.parametrize("name", ["REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB"])
def test_redis_settings_without_a_server_stop_the_start_up(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "3")
    with pytest.raises(ConfigurationError, match=f"{name} set, but no Redis server"):
        Settings()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ENV": "/root/.shrc"}, "development"),  # a POSIX shell's ENV: ignored
        ({"ENV": "local"}, "development"),  # GoChat's names
        ({"ENV": "dev"}, "development"),
        ({"ENV": "prod", "JWT_SECRET": "x" * 40}, "production"),
        ({"APP_ENV": "Production", "JWT_SECRET": "x" * 40}, "production"),
    ],
)
def test_environment_names(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings().app_env.value == expected


def test_a_bad_app_env_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "/root/.shrc")  # Parley's own name: no guessing
    monkeypatch.setenv("ENV", "/root/.shrc")
    with pytest.raises(ValueError, match="development"):
        Settings()


def test_the_gosocket_seeds_env_file_is_understood(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its `.env` as its README gives it (Cassandra's settings are ignored)."""
    for name, value in {
        "CASSANDRA_HOSTS": "localhost",
        "REDIS_URL": "localhost:6379",
        "REDIS_PASSWORD": "",
        "REDIS_DB": "0",
        "SERVER_PORT": "8088",
        "JWT_SECRET": "your-super-secret-jwt-key-here",
        "JWT_EXPIRY": "24h",
        "APP_ENV": "development",
        "APP_DEBUG": "true",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.port == 8088
    assert settings.access_token_ttl_secs == 24 * 3600
    assert settings.log_level == "debug"  # APP_DEBUG=true
    monkeypatch.setenv("LOG_LEVEL", "WARNING")  # an explicit level wins, in any case
    assert Settings(_env_file=None).log_level == "warning"  # type: ignore[call-arg]
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match=r"log_level|LOG_LEVEL"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "needed"),
    [
        ({"PUSH_NOTIFIER": "webhook"}, "PUSH_WEBHOOK_URL"),
        ({"PUSH_NOTIFIER": "webhook", "PUSH_WEBHOOK_URL": "http://x"}, "PUSH_WEBHOOK_SECRET"),
        ({"PUSH_NOTIFIER": "fcm"}, "FCM_SERVICE_ACCOUNT_FILE"),
    ],
)
def test_a_push_notifier_needs_its_settings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needed: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=needed):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_push_settings_default_to_the_log_notifier_in_development_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.effective_push_notifier.value == "log"
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    production = Settings(_env_file=None)  # type: ignore[call-arg]
    assert production.effective_push_notifier.value == "off"  # nothing pretends to push
    monkeypatch.setenv("PUSH_GRACE_SECS", "250ms")
    assert Settings(_env_file=None).push_grace_secs == 0.25  # type: ignore[call-arg]
