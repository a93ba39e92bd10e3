"""The Kubernetes manifests (deploy/kubernetes/), checked without a cluster.

Each resource is validated against the official Kubernetes JSON schemas in strict mode
(unknown fields are errors), as shipped by the `kubernetes-validate` package; then the
manifests are checked against the product: the settings they set exist and validate, the
commands they run are `callcenter` commands, the drain and grace periods agree with
livekit-agents' drain on SIGTERM, and the names that tie resources together match."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from callcenter.cli import _parser
from callcenter.config import Settings, load_settings

K8S = Path(__file__).parents[2] / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def _kustomization() -> dict[str, Any]:
    return _docs("kustomization.yaml")[0]


def _resources() -> dict[str, dict[str, Any]]:
    out = {}
    for name in _kustomization()["resources"]:
        for doc in _docs(name):
            out[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return out


def _containers(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return resource["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize(
    "name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
)
def test_every_manifest_is_valid_kubernetes(name: str) -> None:
    for doc in _docs(name):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_is_caught() -> None:
    job = _docs("migrate-job.yaml")[0]
    job["spec"]["template"]["spec"]["restartPolicyy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    listed = set(_kustomization()["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secret.example.yaml"}


def _settings_from(config: dict[str, str], secret: dict[str, str]) -> Settings:
    return load_settings(_env_file=None, **config, **secret)


def test_the_settings_they_set_exist_and_validate() -> None:
    config = _resources()["ConfigMap/callcenter-config"]["data"]
    secret = _docs("secret.example.yaml")[0]["stringData"]
    aliases = {f.alias for f in Settings.model_fields.values()}
    assert set(config) - aliases == set()
    assert set(secret) - aliases == set()
    settings = _settings_from(config, secret)
    secret_fields = {
        f.alias for f in Settings.model_fields.values() if "SecretStr" in str(f.annotation)
    }
    assert not secret_fields & set(config), "a secret in the ConfigMap"
    assert settings.drain_timeout >= settings.max_call_duration_s


def test_the_worker_drains_before_kubernetes_kills_it() -> None:
    res = _resources()
    config = res["ConfigMap/callcenter-config"]["data"]
    settings = _settings_from(config, _docs("secret.example.yaml")[0]["stringData"])
    worker = res["Deployment/callcenter-worker"]
    pod = worker["spec"]["template"]["spec"]
    # livekit-agents 1.8.9: SIGTERM -> drain (no new job; wait up to drain_timeout) -> exit
    assert pod["terminationGracePeriodSeconds"] >= settings.drain_timeout + 30
    assert settings.drain_timeout >= settings.max_call_duration_s + 30
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_probes_and_ports_are_the_workers() -> None:
    res = _resources()
    config = res["ConfigMap/callcenter-config"]["data"]
    worker = res["Deployment/callcenter-worker"]
    (container,) = _containers(worker)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["health"] == int(config["CALLCENTER_HEALTH_PORT"])
    assert ports["metrics"] == int(config["CALLCENTER_METRICS_PORT"])
    annotations = worker["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == config["CALLCENTER_METRICS_PORT"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/", "port": "health"}
    assert container["resources"]["requests"]["cpu"]
    assert "cpu" not in container["resources"].get("limits", {})  # no CFS throttling
    num_cpus = next(e for e in container["env"] if e["name"] == "NUM_CPUS")
    assert num_cpus["valueFrom"]["resourceFieldRef"]["resource"] == "requests.cpu"


def test_the_web_serves_metrics_on_its_own_port_outside_the_service() -> None:
    res = _resources()
    config = res["ConfigMap/callcenter-config"]["data"]
    web = res["Deployment/callcenter-web"]
    (container,) = _containers(web)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    metrics_port = int(config["CALLCENTER_WEB_METRICS_PORT"])
    assert ports["metrics"] == metrics_port != ports["http"]
    args = _parses(container["command"])
    assert args.port == ports["http"]
    assert args.metrics_port in (None, metrics_port)  # None: from the ConfigMap
    annotations = web["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    published = {p["targetPort"] for p in res["Service/callcenter-web"]["spec"]["ports"]}
    assert published == {"http"}  # the metrics are never behind the console's Service


def _parses(command: list[str]) -> argparse.Namespace:
    assert command[0] == "callcenter"
    args, rest = _parser().parse_known_args(command[1:])
    assert rest == [], f"{command}: options our CLI does not take"
    return args


def test_the_commands_are_callcenter_commands() -> None:
    res = _resources()
    (worker,) = _containers(res["Deployment/callcenter-worker"])
    assert _parses(worker["command"]).command == "start"
    (migrate,) = res["Job/callcenter-migrate"]["spec"]["template"]["spec"]["containers"]
    args = _parses(migrate["command"])
    assert (args.command, args.db_command) == ("db", "upgrade")
    (web,) = _containers(res["Deployment/callcenter-web"])
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    if "web" not in commands:
        pytest.skip("`callcenter web` lands with the web console's branch")
    assert _parses(web["command"]).command == "web"


def test_names_that_tie_the_resources_together_match() -> None:
    res = _resources()
    hpa = res["HorizontalPodAutoscaler/callcenter-worker"]["spec"]["scaleTargetRef"]
    assert f"{hpa['kind']}/{hpa['name']}" in res
    worker_labels = res["Deployment/callcenter-worker"]["spec"]["template"]["metadata"]["labels"]
    pdb = res["PodDisruptionBudget/callcenter-worker"]["spec"]["selector"]["matchLabels"]
    assert pdb.items() <= worker_labels.items()
    web_labels = res["Deployment/callcenter-web"]["spec"]["template"]["metadata"]["labels"]
    assert res["Service/callcenter-web"]["spec"]["selector"].items() <= web_labels.items()
    secret = _docs("secret.example.yaml")[0]["metadata"]["name"]
    for name in ("Deployment/callcenter-worker", "Deployment/callcenter-web"):
        for container in _containers(res[name]):
            refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
            assert refs == {"callcenter-config", secret}
            assert container["image"] == "callcenter"  # kustomize's `images` sets the registry
