"""deploy/: compose, Kubernetes, Dockerfile, lock file and .env.example refer to things that exist.

Every container's command must parse with the real `hotline` CLI, every HOTLINE_* variable must
be a Settings field, every health check must hit a route the process serves, on its port.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hotline import cli
from hotline.api.app import create_app
from hotline.kit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
# Read by code outside Settings (kit/migrate.py: where the migrations are in an installed image).
NON_SETTINGS_VARS = {"HOTLINE_MIGRATIONS_DIR"}
FIELDS = {f"HOTLINE_{name.upper()}" for name in Settings.model_fields}
PROCESSES = {"gateway", "router", "api", "sla-monitor", "outbox-relay"}


@cache
def parser() -> argparse.ArgumentParser:
    """The `hotline` command's real parser, plugins included (as cli.main builds it)."""
    cli._load_plugins()
    p = argparse.ArgumentParser(prog="hotline", exit_on_error=False)
    sub = p.add_subparsers(dest="command", required=True)
    for name, (help_, add_args, _) in cli.COMMANDS.items():
        add_args(sub.add_parser(name, help=help_, exit_on_error=False))
    return p


def parse_command(args: list[str]) -> argparse.Namespace:
    assert args and args[0] in cli.COMMANDS, f"`hotline {args[0] if args else ''}` does not exist"
    try:
        return parser().parse_args(args)
    except (argparse.ArgumentError, SystemExit) as exc:
        raise AssertionError(f"`hotline {' '.join(args)}` does not parse: {exc}") from exc


@cache
def routes(role: str) -> frozenset[str]:
    app = create_app(Settings(environment="test"), roles=(role,))
    return frozenset(app.openapi()["paths"])


def serves(args: list[str], env: dict[str, Any]) -> tuple[int, set[str]]:
    """The port a process listens on and the health paths it answers there."""
    a = parse_command(args)
    if a.command in ("gateway", "api"):
        return a.port, set(routes(a.command)) & {"/healthz", "/readyz"}
    if a.command == "router":
        port = int(env.get("HOTLINE_ROUTER_METRICS_PORT", Settings().router_metrics_port))
        return port, {"/healthz", "/metrics"}  # serve_process_metrics
    return -1, set()


def check_env_names(names: Any, where: str) -> None:
    for name in names:
        if name.startswith("HOTLINE_"):
            assert name in FIELDS | NON_SETTINGS_VARS, f"{where}: {name} is not a hotline setting"


# --- compose ----------------------------------------------------------------------------------

def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose_merged() -> dict[str, Any]:
    """compose.yaml with compose.prod.yaml applied (maps merge by key, scalars and lists replace)."""
    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            return {**a, **{k: merge(a.get(k), v) for k, v in b.items()}}
        return b
    return merge(load(DEPLOY / "compose.yaml"), load(DEPLOY / "compose.prod.yaml"))


def hotline_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in compose["services"].items() if "hotline" in str(s.get("image", ""))
            and not str(s["image"]).startswith("apache/")}


@pytest.mark.parametrize("name", ["compose.yaml", "compose.prod.yaml"])
def test_compose_files_follow_the_compose_spec(name: str) -> None:
    import jsonschema

    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(load(DEPLOY / name), schema)


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_compose_service_runs_a_real_command_with_real_settings(variant: str) -> None:
    compose = load(DEPLOY / "compose.yaml") if variant == "dev" else compose_merged()
    services = hotline_services(compose)
    commands = {n: s["command"][0] for n, s in services.items()}
    assert PROCESSES <= set(commands.values()), commands
    assert {"migrate", "seed"} <= set(commands.values())
    build = services["api"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    for name, svc in services.items():
        env = svc.get("environment", {})
        parse_command(svc["command"])
        check_env_names(env, f"compose service {name}")
        # ${HOTLINE_…} interpolations name settings too.
        check_env_names(re.findall(r"\$\{(HOTLINE_\w+)", json.dumps(svc)), f"compose {name}")
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in compose["services"], f"{name} depends on unknown {dep}"
            target = compose["services"][dep]
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dep}'s health, which has none"
            if cond["condition"] == "service_completed_successfully":
                assert target.get("restart") == "no", f"{dep} is a one-shot job"
        port, paths = serves(svc["command"], env)
        if "healthcheck" in svc:
            test = " ".join(svc["healthcheck"]["test"])
            m = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", test)
            assert m, f"{name}: health check is not an HTTP probe: {test}"
            assert int(m.group(1)) == port, f"{name}: probes port {m.group(1)}, serves {port}"
            assert m.group(2) in paths, f"{name}: {m.group(2)} is not served"
        if svc["command"][0] in ("gateway", "api"):
            assert "healthcheck" in svc and "/readyz" in " ".join(svc["healthcheck"]["test"])
            assert any(str(p).endswith(f":{port}") for p in svc.get("ports", [])), name
    # Long-running processes start only after the schema is migrated and the topics exist.
    for name in ("gateway", "router", "api", "sla-monitor", "outbox-relay"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["topics"]["condition"] == "service_completed_successfully"
    assert isinstance(services["router"]["deploy"]["replicas"], (int, str))


def topic_settings(compose: dict[str, Any]) -> dict[str, str]:
    topics = compose["services"]["topics"]
    script = " ".join(topics["command"])
    assert "kafka-topics.sh" in script and "--if-not-exists" in script
    settings = Settings()
    for topic in (settings.kafka_intake_topic, settings.kafka_events_topic):
        assert f"--topic {topic}" in script, f"{topic} is not created"
    return {k: str(v) for k, v in topics["environment"].items()}


def test_topics_are_created_with_partitions_and_retention() -> None:
    env = topic_settings(load(DEPLOY / "compose.yaml"))
    assert env["REPLICATION_FACTOR"] == "1"
    assert re.search(r":-(\d+)\}", env["INTAKE_PARTITIONS"]), "intake partitions have a default"
    assert "retention" in " ".join(load(DEPLOY / "compose.yaml")["services"]["topics"]["command"])


def test_production_variant_is_a_three_broker_cluster_with_rf3_and_min_isr2() -> None:
    compose = compose_merged()
    brokers = {n: s for n, s in compose["services"].items()
               if str(s.get("image", "")).startswith("apache/kafka") and n != "topics"}
    assert len(brokers) == 3
    node_ids = {str(s["environment"]["KAFKA_NODE_ID"]) for s in brokers.values()}
    assert node_ids == {"1", "2", "3"}
    for s in brokers.values():
        voters = s["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"]
        assert all(f"@{n}:9093" in voters for n in brokers)
        assert str(s["environment"]["KAFKA_MIN_INSYNC_REPLICAS"]) == "2"
    env = topic_settings(compose)
    assert env["REPLICATION_FACTOR"] == "3" and env["MIN_INSYNC_REPLICAS"] == "2"
    for name, svc in hotline_services(compose).items():
        bootstrap = svc["environment"]["HOTLINE_KAFKA_BOOTSTRAP"]
        assert all(f"{b}:9092" in bootstrap for b in brokers), name


# --- Kubernetes -------------------------------------------------------------------------------

def k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, d) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml"
            for d in yaml.safe_load_all(p.read_text()) if d]


def test_k8s_manifests_are_valid_for_kubernetes() -> None:
    import kubernetes_validate

    for name, doc in k8s_docs():
        kubernetes_validate.validate(doc, "1.31.0", strict=True)
    listed = set(load(K8S / "kustomization.yaml")["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_k8s_workloads_run_real_commands_with_real_settings_and_probes() -> None:
    docs = k8s_docs()
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    config = by_kind["ConfigMap"]["hotline-config"]["data"]
    secret = by_kind["Secret"]["hotline-secrets"]["stringData"]
    check_env_names(config, "ConfigMap")
    check_env_names(secret, "Secret")
    assert set(config) | set(secret) <= FIELDS
    env = {**config, **secret}

    workloads = {**by_kind["Deployment"], **by_kind["Job"]}
    started = set()
    for name, w in workloads.items():
        pod = w["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            assert c["image"] == "hotline" and c["command"] == ["hotline"], name
            a = parse_command(c["args"])
            started.add(a.command)
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in by_kind["ConfigMap"]
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] in by_kind["Secret"]
            check_env_names([e["name"] for e in c.get("env", [])], name)
            port, paths = serves(c["args"], env)
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = c.get(kind)
                if probe is None:
                    continue
                get = probe["httpGet"]
                assert ports.get(get["port"], get["port"]) == port, f"{name} {kind} port"
                assert get["path"] in paths, f"{name} {kind}: {get['path']} is not served"
            if a.command in ("gateway", "api"):
                assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
                assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert PROCESSES | {"migrate"} <= started

    deployments = by_kind["Deployment"]
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]

    def selects_a_pod(selector: dict[str, str]) -> bool:
        return any(selector.items() <= lab.items() for lab in labels)

    for svc in by_kind["Service"].values():
        assert selects_a_pod(svc["spec"]["selector"]), svc["metadata"]["name"]
    for pdb in by_kind["PodDisruptionBudget"].values():
        assert selects_a_pod(pdb["spec"]["selector"]["matchLabels"]), pdb["metadata"]["name"]
    assert {p["metadata"]["name"] for p in by_kind["PodDisruptionBudget"].values()} >= {
        f"hotline-{n}" for n in ("gateway", "api", "router")}
    hpa = by_kind["HorizontalPodAutoscaler"]["hotline-router"]["spec"]
    assert hpa["scaleTargetRef"]["name"] in deployments
    assert deployments[hpa["scaleTargetRef"]["name"]]["spec"]["template"]["spec"][
        "containers"][0]["args"] == ["router"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"


# --- image ------------------------------------------------------------------------------------

def test_dockerfile_is_multi_stage_non_root_and_built_from_the_lock_file() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = [ln.strip() for ln in re.sub(r"\\\n", " ", text).splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    stages = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines
    assert all("${PYTHON_IMAGE}" in s for s in stages)
    user = [ln for ln in lines if ln.startswith("USER ")][-1].split()[1]
    assert user.split(":")[0] not in ("root", "0")
    install = " ".join(ln for ln in lines if "pip install" in ln)
    assert "-r requirements.lock" in install and "--no-deps" in install
    entry = next(ln for ln in lines if ln.startswith("ENTRYPOINT"))
    assert json.loads(entry.removeprefix("ENTRYPOINT ")) == ["hotline"]
    parse_command(json.loads(next(ln for ln in lines if ln.startswith("CMD")).removeprefix("CMD ")))
    check_env_names(re.findall(r"(HOTLINE_\w+)=", text), "Dockerfile")

    # Everything COPY'd from the context exists and is not excluded by .dockerignore.
    ignore = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    for ln in lines:
        if ln.startswith("COPY ") and "--from=" not in ln:
            sources = [s for s in shlex.split(ln)[1:-1] if not s.startswith("--")]
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: no such file"
                assert f"!{src}" in ignore or f"!{src}/" in ignore, f"{src} is .dockerignored"


def test_lock_file_pins_every_runtime_dependency_at_a_version_it_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for ln in (ROOT / "requirements.lock").read_text().splitlines():
        if ln and not ln.startswith("#"):
            name, _, version = ln.partition("==")
            assert version, f"not pinned: {ln}"
            pins[canonicalize_name(name)] = version
    for dep in project["dependencies"]:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock (python deploy/lock.py)"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} vs {pins[name]}"


# --- .env.example -----------------------------------------------------------------------------

def test_env_example_lists_every_setting() -> None:
    text = (DEPLOY / ".env.example").read_text()
    listed = set(re.findall(r"^#?(HOTLINE_\w+)=", text, flags=re.MULTILINE))
    missing = FIELDS - listed
    assert not missing, f"deploy/.env.example lacks {sorted(missing)}: python deploy/gen_env_example.py"
    assert not listed - FIELDS, f"not settings: {sorted(listed - FIELDS)}"
