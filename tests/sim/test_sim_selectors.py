"""Label and field selector grammar of the simulated API server."""

from __future__ import annotations

import pytest

from deploy_assistant.sim.selectors import (
    SelectorError,
    field_matcher,
    field_value,
    label_matcher,
    object_matcher,
)

WEB = {"app": "web", "tier": "front", "pod-template-hash": "abc"}
DB = {"app": "db"}


@pytest.mark.parametrize(
    ("selector", "web", "db"),
    [
        ("", True, True),
        ("app=web", True, False),
        ("app==web", True, False),
        ("app!=web", False, True),
        ("app in (web, api)", True, False),
        ("app notin (web,api)", False, True),
        ("tier", True, False),
        ("!tier", False, True),
        ("app in (web,db),pod-template-hash", True, False),
        ("app in (web,db), !tier", False, True),
        ("app=web,tier=back", False, False),
        ("missing!=x", True, True),
        ("app=", False, False),
    ],
)
def test_label_selector_matches_like_the_api_server(selector: str, web: bool, db: bool) -> None:
    matches = label_matcher(selector)
    assert (matches(WEB), matches(DB)) == (web, db)


@pytest.mark.parametrize("selector", ["app in web", "app=(x", "=web", "app in (a),,=b"])
def test_malformed_label_selector_is_rejected(selector: str) -> None:
    with pytest.raises(SelectorError):
        label_matcher(selector)


POD = {
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {"nodeName": "node-a", "hostNetwork": False},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=web-1", True),
        ("metadata.name==web-1,metadata.namespace=shop", True),
        ("metadata.namespace=prod", False),
        ("status.phase!=Running", False),
        ("status.phase!=Pending", True),
        ("spec.nodeName=node-a", True),
        ("spec.nodeName=", False),
        ("spec.hostNetwork=false", True),
        ("involvedObject.name=", True),
    ],
)
def test_field_selector_compares_dotted_paths(selector: str, expected: bool) -> None:
    assert field_matcher(selector)(POD) is expected


def test_field_value_of_missing_path_is_empty_string() -> None:
    assert field_value(POD, "spec.missing.deeper") == ""
    assert field_value(POD, "metadata.labels.app") == "web"


def test_field_selector_without_operator_is_rejected() -> None:
    with pytest.raises(SelectorError):
        field_matcher("status.phase")


def test_object_matcher_combines_labels_and_fields() -> None:
    assert object_matcher("app=web", "status.phase=Running")(POD)
    assert not object_matcher("app=web", "status.phase=Failed")(POD)
    assert not object_matcher("app=db", None)(POD)
    assert object_matcher(None, None)({"metadata": {}})
