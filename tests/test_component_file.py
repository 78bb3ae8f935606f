"""The GitLab CI/CD component, its examples and the self-test pipeline, checked structurally.

GitLab cannot run here, so these tests hold the rules GitLab enforces at pipeline creation (input
types, defaults, options, interpolation) and the product's own contract (inputs reach the tool as
settings it reads, never through `script`; no global keywords; reports always uploaded).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from deploy_assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "deploy-assistant.yml"
README = ROOT / "ci-component" / "README.md"
PIPELINE = ROOT / ".gitlab-ci.yml"
USE = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")
GLOBAL_KEYWORDS = {
    "default",
    "stages",
    "variables",
    "workflow",
    "include",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
}
TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
}
SECRET_INPUTS = ("gitlab_token", "slack_token", "llm_api_key", "ingest_token")


def settings_env_names(model: type[BaseModel] = Settings, prefix: str = "DA_") -> set[str]:
    """Every environment variable the settings read: `DA_FIELD`, nested as `DA_GROUP__FIELD`."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= settings_env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def _documents() -> tuple[str, str]:
    spec_text, _, job_text = TEMPLATE.read_text().partition("\n---\n")
    return spec_text, job_text


def _inputs() -> dict[str, dict[str, Any]]:
    spec = yaml.safe_load(_documents()[0])
    return dict(spec["spec"]["inputs"])


def interpolate(values: dict[str, Any]) -> dict[str, Any]:
    """The job GitLab would generate for these inputs (defaults filled in).

    A `$[[ inputs.x ]]` that is a whole YAML value keeps its type; inside a string it is text.
    """
    inputs = _inputs()
    resolved = {k: values.get(k, spec.get("default")) for k, spec in inputs.items()}
    missing = [k for k, v in resolved.items() if v is None]
    assert not missing, f"required inputs not passed: {missing}"

    def whole(match: re.Match[str]) -> str:
        return match.group(1) + json.dumps(resolved[match.group(2)]) + match.group(3)

    text = re.sub(
        r"(^\s*[\w.\"-]+:\s+)\$\[\[\s*inputs\.([\w-]+)\s*\]\](\s*$)",
        whole,
        _documents()[1],
        flags=re.MULTILINE,
    )
    text = USE.sub(lambda m: str(resolved[m.group(1)]), text)
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def _job(values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    document = interpolate(values)
    assert len(document) == 1, "the component defines exactly one job"
    ((name, job),) = document.items()
    return name, job


REQUIRED = {
    "needs": ["deploy"],
    "environment": "production",
    "namespace": "shop",
    "deployments": "web",
}


def test_template_is_a_spec_document_and_a_jobs_document() -> None:
    documents = list(yaml.safe_load_all(TEMPLATE.read_text()))
    assert len(documents) == 2
    assert set(documents[0]) == {"spec"}
    assert set(documents[0]["spec"]) == {"inputs"}
    assert not set(documents[1]) & GLOBAL_KEYWORDS


def test_every_declared_input_is_used_and_every_used_input_declared() -> None:
    used = set(USE.findall(_documents()[1]))
    assert used == set(_inputs())


@pytest.mark.parametrize("name", sorted(_inputs()))
def test_input_type_default_and_options_are_valid(name: str) -> None:
    spec = _inputs()[name]
    kind = spec.get("type", "string")
    assert kind in TYPES
    assert spec.get("description"), "the Catalog shows the description"
    if "default" in spec:
        default = spec["default"]
        assert isinstance(default, TYPES[kind])
        assert kind == "boolean" or not isinstance(default, bool)
    if "options" in spec:
        assert kind in ("string", "number")
        assert len(spec["options"]) <= 50
        assert "default" not in spec or spec["default"] in spec["options"]
    if "regex" in spec:
        assert kind == "string"
        assert spec.get("default"), "regex with an empty default fails on older GitLab"
        assert re.search(spec["regex"], spec["default"])


def test_required_inputs_are_exactly_the_ones_without_a_safe_default() -> None:
    required = {name for name, spec in _inputs().items() if "default" not in spec}
    assert required == set(REQUIRED)


def test_job_variables_starting_with_da_are_settings_the_tool_reads() -> None:
    _, job = _job(REQUIRED)
    names = {n for n in job["variables"] if n.startswith("DA_")}
    assert names
    assert names <= settings_env_names(), names - settings_env_names()
    assert all(not isinstance(v, (dict, list)) for v in job["variables"].values())


def test_inputs_never_reach_the_shell() -> None:
    _, job_text = _documents()
    job = yaml.safe_load(job_text)
    (body,) = job.values()
    for line in body["script"]:
        assert "$[[" not in line


def test_secrets_are_variable_references() -> None:
    for name in SECRET_INPUTS:
        assert re.fullmatch(r"\$[A-Z][A-Z0-9_]*", _inputs()[name]["default"])


def test_generated_job_follows_the_component_contract() -> None:
    name, job = _job({**REQUIRED, "job_name": "deploy-assistant:production"})
    assert name == "deploy-assistant:production"
    assert job["needs"] == ["deploy"]
    assert job["environment"] == {"name": "production", "action": "verify"}
    assert job["inherit"] == {"default": ["tags"]}
    assert job["allow_failure"] == {"exit_codes": [3, 4]}
    assert job["image"]["entrypoint"] == [""]
    assert re.search(r":\d+\.\d+\.\d+", job["image"]["name"])
    assert job["variables"]["DA_FAIL_ON_ROLLOUT_FAILURE"] is True
    assert job["variables"]["DA_POLICY__TIMEOUT_SECONDS"] == 600
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert set(artifacts["reports"]) == {"annotations", "junit", "dotenv"}
    assert re.fullmatch(r"\w[-\w ]*", artifacts["expose_as"])
    for path in artifacts["paths"]:
        assert "$" not in path
        assert path.endswith("/")
    report_dir = job["variables"]["DA_REPORT_DIR"]
    assert all(p.startswith(report_dir + "/") for p in artifacts["reports"].values())


def _component_includes(document: Any) -> list[dict[str, Any]]:
    includes = document.get("include", []) if isinstance(document, dict) else []
    return [i for i in includes if isinstance(i, dict) and "component" in i]


def _readme_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [i for block in blocks for i in _component_includes(yaml.safe_load(block))]


def test_readme_examples_pass_valid_inputs() -> None:
    examples = _readme_examples()
    assert len(examples) >= 3
    for include in examples:
        assert "@~latest" not in include["component"]
        assert set(include["inputs"]) <= set(_inputs())
        _job(include["inputs"])


def test_self_test_includes_the_component_from_this_commit_and_verifies_each_job() -> None:
    pipeline = yaml.safe_load(PIPELINE.read_text())
    includes = _component_includes(pipeline)
    assert includes
    needed = {
        need["job"] if isinstance(need, dict) else need
        for job in pipeline.values()
        if isinstance(job, dict)
        for need in job.get("needs", [])
    }
    for include in includes:
        assert include["component"] == (
            "$CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy-assistant@$CI_COMMIT_SHA"
        )
        name, job = _job(include["inputs"])
        assert name in needed, f"no verify job needs {name}"
        assert name in pipeline, f"{name} gets no simulator service"
        assert job["variables"]["DA_DRY_RUN"] is True


def test_pipeline_builds_without_docker_and_releases_with_the_release_keyword() -> None:
    pipeline = yaml.safe_load(PIPELINE.read_text())
    jobs = {k: v for k, v in pipeline.items() if isinstance(v, dict) and "script" in v}
    assert {"lint", "type", "test"} <= set(jobs)
    assert "buildah" in jobs["build-image"]["image"]
    assert all("docker:" not in json.dumps(j.get("services", [])) for j in jobs.values())
    release = jobs["create-release"]
    assert release["release"]["tag_name"] == "$CI_COMMIT_TAG"
    assert release["rules"] == [{"if": "$CI_COMMIT_TAG"}]


def test_settings_env_names_are_derived_with_nesting() -> None:
    names = settings_env_names()
    assert {"DA_CLUSTER", "DA_SLACK__TOKEN", "DA_POLICY__TIMEOUT_SECONDS"} <= names
    assert "DA_SLACK_BOT_TOKEN" not in names
    assert "DA_SLACK" not in names
