"""deploy/: the systemd units verify, the YAML parses, and every warcwire command line in
deploy files names an existing verb with existing options."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from warcwire.cli import build_parser
from warcwire.config import parse_config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SYSTEMD = DEPLOY / "systemd"
SHELL_OPS = {">", ">>", "2>&1", "&&", "||", "|", ";", "&"}


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (Debian package: systemd)")
    return tool


def _units_for_verify(tmp_path: Path) -> list[Path]:
    """The units with ExecStart pointed at this venv's warcwire, templates instantiated."""
    warcwire = Path(sys.executable).parent / "warcwire"
    assert warcwire.is_file(), f"{warcwire} missing: install the project (pip install -e .)"
    units = []
    for unit in sorted(SYSTEMD.glob("*.service")) + sorted(SYSTEMD.glob("*.timer")):
        text = unit.read_text().replace("/opt/warcwire/venv/bin/warcwire", str(warcwire))
        name = unit.name.replace("@.", "@example-news.")
        (tmp_path / name).write_text(text)
        units.append(tmp_path / name)
    return units


def test_systemd_units_verify(tmp_path: Path) -> None:
    tool = _systemd_analyze()
    units = _units_for_verify(tmp_path)
    assert {u.name for u in units} == {"warcwire.service", "warcwire-crawl@example-news.service",
                                       "warcwire-crawl@example-news.timer"}
    result = subprocess.run([tool, "verify", *map(str, units)], capture_output=True,
                            text=True, timeout=60)
    # verify exits 0 on unknown keys but reports them: any output is a finding
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr)


def test_service_sandbox_is_tight(tmp_path: Path) -> None:
    tool = _systemd_analyze()
    unit = next(u for u in _units_for_verify(tmp_path) if u.name == "warcwire.service")
    result = subprocess.run([tool, "security", "--offline=true", str(unit)],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for warcwire.service: ([\d.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.5, result.stdout


@pytest.mark.parametrize("unit", ["warcwire.service", "warcwire-crawl@.service"])
def test_units_run_as_a_dedicated_user_with_only_the_data_dir_writable(unit: str) -> None:
    lines = set((SYSTEMD / unit).read_text().splitlines())
    for directive in ("User=warcwire", "ProtectSystem=strict", "NoNewPrivileges=yes",
                      "ReadWritePaths=/var/lib/warcwire", "PrivateTmp=yes", "ProtectHome=yes",
                      "CapabilityBoundingSet=", "KillMode=mixed"):
        assert directive in lines, f"{unit}: {directive} missing"
    assert "u warcwire - " in (SYSTEMD / "warcwire.sysusers").read_text()


def test_service_reloads_with_sighup() -> None:
    assert "ExecReload=/bin/kill -HUP $MAINPID" in (SYSTEMD / "warcwire.service").read_text()


def _yaml_files() -> list[Path]:
    return sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs and all(isinstance(d, dict) for d in docs)
    if path.parent.name == "kubernetes":
        assert all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)


def _site_configs() -> dict[str, str]:
    """Every sites config in deploy/: the files, and the one inside the ConfigMap."""
    configs = {str(p.relative_to(DEPLOY)): p.read_text()
               for p in (DEPLOY / "sites.example.yaml", DEPLOY / "docker" / "sites.yaml")}
    cm = yaml.safe_load((DEPLOY / "kubernetes" / "configmap.yaml").read_text())
    configs["kubernetes/configmap.yaml"] = cm["data"]["sites.yaml"]
    return configs


@pytest.mark.parametrize("name", sorted(_site_configs()))
def test_site_configs_are_valid(name: str) -> None:
    config = parse_config(_site_configs()[name], name)
    assert config.data_dir == "/var/lib/warcwire"
    assert config.spool_dir.startswith("/var/lib/warcwire/")


def _after_warcwire(tokens: list[str]) -> list[list[str]]:
    """Arguments of each `warcwire` invocation in a token list, up to a shell operator."""
    found = []
    for i, tok in enumerate(tokens):
        if i and tokens[i - 1].startswith("-") and tokens[i - 1] != "--":
            continue  # the value of an option (`install -g warcwire`, `docker build -t`)
        if tok.rsplit("/", 1)[-1] == "warcwire" and i + 1 < len(tokens):
            args = []
            for arg in tokens[i + 1:]:
                if arg in SHELL_OPS:
                    break
                args.append(arg)
            if args and not args[0].startswith(("-", ".", "/", ":")):
                found.append(args)
    return found


def _shell_lines(path: Path) -> list[str]:
    """Lines that are commands: README code blocks, crontab entries, ExecStart= lines."""
    lines = path.read_text().splitlines()
    if path.suffix == ".md":
        text = path.read_text().replace("\\\n", " ")  # join continued lines
        blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
        return [ln for block in blocks for ln in block.splitlines()]
    if path.suffix == ".crontab":  # minute hour dom month dow user command
        return [" ".join(ln.split()[6:]) for ln in lines if re.match(r"^[\d*@]", ln)]
    return [ln.removeprefix("ExecStart=").replace("%i", "example-news")
            for ln in lines if ln.startswith("ExecStart=")]


def _text_command_lines() -> list[tuple[str, list[str]]]:
    out = []
    for path in [*SYSTEMD.glob("*.service"), DEPLOY / "cron" / "warcwire.crontab",
                 DEPLOY / "README.md"]:
        for line in _shell_lines(path):
            tokens = shlex.split(line, comments=True)
            # `docker compose exec warcwire warcwire status`: the service, then the command
            tokens = [t for i, t in enumerate(tokens)
                      if not (t == "warcwire" and tokens[i + 1:i + 2] == ["warcwire"])]
            out += [(path.name, args) for args in _after_warcwire(tokens)]
    return out


def _container_command_lines() -> list[tuple[str, list[str]]]:
    out = []
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert entry == ["warcwire"]
    out.append(("Dockerfile", cmd))
    compose = yaml.safe_load((DEPLOY / "docker" / "docker-compose.yml").read_text())
    svc = compose["services"]["warcwire"]
    out.append(("docker-compose.yml", svc["command"]))
    for path in (DEPLOY / "kubernetes").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = doc.get("spec", {})
            pod = (spec.get("template") or spec.get("jobTemplate", {}).get("spec", {})
                   .get("template") or {}).get("spec", {})
            for container in pod.get("containers", []):
                out.append((path.name, container["args"]))
    return out


def _all_command_lines() -> list[tuple[str, list[str]]]:
    return _text_command_lines() + _container_command_lines()


def test_command_lines_were_found() -> None:
    verbs = {args[0] for _, args in _all_command_lines()}
    assert {"serve", "crawl", "status", "reload", "runs"} <= verbs, verbs
    sources = {src for src, _ in _all_command_lines()}
    assert {"warcwire.service", "warcwire-crawl@.service", "warcwire.crontab", "Dockerfile",
            "docker-compose.yml", "deployment.yaml", "cronjob-example-news.yaml",
            "README.md"} <= sources, sources


@pytest.mark.parametrize("source,args", _all_command_lines(),
                         ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_command_line_parses(source: str, args: list[str],
                             capsys: pytest.CaptureFixture[str]) -> None:
    try:
        ns = build_parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"{source}: `warcwire {' '.join(args)}` does not parse: "
                    f"{capsys.readouterr().err}")
    assert getattr(ns, "func", None), f"{source}: `warcwire {' '.join(args)}` names no verb"


def test_crawled_sites_exist_in_their_configs() -> None:
    configs = {k: parse_config(v, k) for k, v in _site_configs().items()}
    k8s = {s.name for s in configs["kubernetes/configmap.yaml"].sites}
    for source, args in _container_command_lines():
        if args[0] == "crawl":
            assert args[1] in k8s, f"{source}: site {args[1]} not in the ConfigMap"


def test_readme_documents_every_deploy_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert path.name in readme, f"deploy/README.md does not mention {path.name}"
