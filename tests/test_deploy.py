"""The deployment files as an operator receives them: docker-compose.yml, the Dockerfile's
build context and deploy/nginx.conf (which tests/scaleout/test_nginx.py also runs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_image_is_built_once_and_every_instance_runs_it() -> None:
    services = _compose()["services"]
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["migrate"]
    parley = [name for name in services if name.startswith("parley")]
    assert len(parley) == 3
    for name in [*parley, "migrate"]:
        assert services[name]["image"] == "parley:local"
    for name in parley:
        assert services[name]["pull_policy"] == "never"
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_every_backing_service_has_a_health_check_and_no_password_is_written_in() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    services = _compose()["services"]
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name], name
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in text
    assert not re.search(r"postgresql://\w+:\w+@", text), "a password in a database URL"


def test_the_build_context_leaves_out_secrets_and_the_virtualenv() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :][:1] == ["*"]  # everything out, then what the image needs
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "constraints.txt",
        "README.md",
        "LICENSE",
        "src",
        "scripts/fetch-web-vendor",
    }
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M)
    assert {name.rstrip("/") for line in copied for name in line.split()} <= allowed


def test_nginx_hashes_the_full_address_and_hides_the_operator_pages() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "hash $remote_addr consistent;" in conf
    assert "ip_hash" not in conf.replace("ip_hash would", "")
    assert "max_fails=1 " not in conf
    assert re.search(r"location ~ \^/\(metrics\|docs\|redoc\|openapi", conf)
