"""The only module that imports `kubernetes`: a thin adapter that speaks plain JSON dicts.

Every read uses `_preload_content=False` and returns the API's JSON as dicts, so nothing above
this module sees the client's models (which differ between client majors, see ADR 0003). Errors
become `KubeApiError` with the HTTP status kept, or `ClusterUnavailable` when the API cannot be
reached at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.watch.watch import iter_resp_lines

from deploy_assistant.errors import ClusterUnavailable, ConfigError
from deploy_assistant.models import KubeObject
from deploy_assistant.settings import KubeSettings

log = logging.getLogger(__name__)

KINDS = ("deployments", "replicasets", "pods", "events", "events.k8s.io", "nodes")


class KubeApiError(ClusterUnavailable):
    """The API answered with an error status (`status` keeps the HTTP code: 403, 404, 410…)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NotKubernetesError(ClusterUnavailable):
    """Something answered, but not a Kubernetes API (a login page, a proxy's HTML error)."""


@dataclass(frozen=True)
class WatchEvent:
    type: str
    """ADDED, MODIFIED, DELETED or BOOKMARK."""
    object: KubeObject


@dataclass(frozen=True)
class ObjectList:
    items: list[KubeObject]
    resource_version: str


def build_api_client(settings: KubeSettings) -> client.ApiClient:
    """An ApiClient for the simulator URL, a kubeconfig context, or the in-cluster account."""
    if settings.api_url:
        configuration = client.Configuration()
        configuration.host = settings.api_url.rstrip("/")
        return client.ApiClient(configuration)
    try:
        if settings.kubeconfig is None and settings.context is None:
            try:
                config.load_incluster_config()
                return client.ApiClient()
            except ConfigException:
                pass
        return config.new_client_from_config(
            config_file=str(settings.kubeconfig) if settings.kubeconfig else None,
            context=settings.context,
        )
    except ConfigException as exc:
        where = f"context {settings.context!r}" if settings.context else "the current kube context"
        raise ConfigError(f"Cannot use {where}: {exc}.") from exc
    except FileNotFoundError as exc:
        raise ConfigError(f"No kubeconfig found ({exc.filename}).") from exc


class KubeClient:
    """Reads and watches the objects a rollout is made of."""

    def __init__(self, api_client: client.ApiClient, request_timeout_seconds: float = 30.0) -> None:
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.events_v1 = client.EventsV1Api(api_client)
        self.timeout = request_timeout_seconds
        self.requests = 0
        """Requests sent so far (for the API-load benchmark)."""

    @classmethod
    def from_settings(cls, settings: KubeSettings) -> KubeClient:
        return cls(build_api_client(settings), settings.request_timeout_seconds)

    def close(self) -> None:
        self.api_client.close()

    # --- reads --------------------------------------------------------------------------------

    def read_deployment(self, namespace: str, name: str) -> KubeObject:
        return self._json(self.apps.read_namespaced_deployment, name, namespace)

    def list_deployments(
        self,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> ObjectList:
        if namespace is None:
            return self._list(
                self.apps.list_deployment_for_all_namespaces,
                None,
                label_selector,
                field_selector=field_selector,
            )
        return self._list(
            self.apps.list_namespaced_deployment,
            namespace,
            label_selector,
            field_selector=field_selector,
        )

    def list_objects(
        self, kind: str, namespace: str | None, label_selector: str | None = None
    ) -> ObjectList:
        """A LIST of one of the watchable kinds (see `watch`), namespaced or cluster-wide."""
        return self._list(self._list_func(kind, namespace), namespace, label_selector)

    def list_replicasets(self, namespace: str, label_selector: str | None = None) -> ObjectList:
        return self._list(self.apps.list_namespaced_replica_set, namespace, label_selector)

    def list_pods(
        self, namespace: str, label_selector: str | None = None, field_selector: str | None = None
    ) -> ObjectList:
        return self._list(
            self.core.list_namespaced_pod, namespace, label_selector, field_selector=field_selector
        )

    def list_events(self, namespace: str, field_selector: str | None = None) -> ObjectList:
        """core/v1 Events, e.g. `field_selector="involvedObject.uid=<uid>"`."""
        return self._list(
            self.core.list_namespaced_event, namespace, None, field_selector=field_selector
        )

    def list_events_v1(self, namespace: str, field_selector: str | None = None) -> ObjectList:
        """events.k8s.io/v1 Events, e.g. `field_selector="regarding.uid=<uid>"`."""
        return self._list(
            self.events_v1.list_namespaced_event, namespace, None, field_selector=field_selector
        )

    def read_node(self, name: str) -> KubeObject:
        return self._json(self.core.read_node, name)

    def read_pod_log(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        """The log as text; undecodable bytes are replaced, never raised on."""
        kwargs: dict[str, Any] = {"container": container, "previous": previous}
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        if limit_bytes is not None:
            kwargs["limit_bytes"] = limit_bytes
        resp = self._call(self.core.read_namespaced_pod_log, pod, namespace, **kwargs)
        data: bytes = resp.data
        return data.decode("utf-8", "replace")

    # --- watch --------------------------------------------------------------------------------

    def watch(
        self,
        kind: str,
        namespace: str | None,
        *,
        resource_version: str,
        timeout_seconds: int,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[WatchEvent]:
        """One watch request from `resource_version`; ends when the server closes the stream.

        A 410 Gone (as an ERROR event or a status) raises `KubeApiError(410)`: relist and resume.
        """
        func = self._list_func(kind, namespace)
        kwargs: dict[str, Any] = {
            "watch": True,
            "resource_version": resource_version,
            "allow_watch_bookmarks": True,
            "timeout_seconds": timeout_seconds,
        }
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        args = (namespace,) if namespace is not None else ()
        resp = self._call(
            func, *args, _request_timeout=(self.timeout, timeout_seconds + self.timeout), **kwargs
        )
        try:
            for line in iter_resp_lines(resp):
                if not line or line.isspace():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    status = int(obj.get("code") or 500)
                    raise KubeApiError(status, str(obj.get("message") or "watch error"))
                yield WatchEvent(str(event.get("type")), obj)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise ClusterUnavailable(f"The watch on {kind} was cut: {exc}.") from exc
        except json.JSONDecodeError as exc:
            raise ClusterUnavailable(f"The watch on {kind} sent a malformed event.") from exc
        finally:
            resp.close()
            resp.release_conn()

    # --- plumbing -----------------------------------------------------------------------------

    def _list_func(self, kind: str, namespace: str | None) -> Callable[..., Any]:
        table: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
            "deployments": (
                self.apps.list_namespaced_deployment,
                self.apps.list_deployment_for_all_namespaces,
            ),
            "replicasets": (
                self.apps.list_namespaced_replica_set,
                self.apps.list_replica_set_for_all_namespaces,
            ),
            "pods": (self.core.list_namespaced_pod, self.core.list_pod_for_all_namespaces),
            "events": (self.core.list_namespaced_event, self.core.list_event_for_all_namespaces),
        }
        if kind not in table:
            raise ValueError(f"cannot watch {kind}")
        namespaced, cluster_wide = table[kind]
        return namespaced if namespace is not None else cluster_wide

    def _list(
        self,
        func: Callable[..., Any],
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None = None,
    ) -> ObjectList:
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        args = (namespace,) if namespace is not None else ()
        body = self._json(func, *args, **kwargs)
        items = [item for item in body.get("items") or [] if isinstance(item, dict)]
        rv = str((body.get("metadata") or {}).get("resourceVersion") or "")
        return ObjectList(items, rv)

    def _json(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> KubeObject:
        resp = self._call(func, *args, **kwargs)
        try:
            body = json.loads(resp.data or b"{}")
        except json.JSONDecodeError as exc:
            host = self.api_client.configuration.host
            raise NotKubernetesError(
                f"{host} answered with something that is not JSON; is it a Kubernetes API?"
            ) from exc
        if not isinstance(body, dict):
            raise NotKubernetesError("The Kubernetes API answered with an unexpected shape.")
        return body

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        kwargs["_preload_content"] = False
        kwargs.setdefault("_request_timeout", self.timeout)
        self.requests += 1
        try:
            return func(*args, **kwargs)
        except ApiException as exc:
            raise KubeApiError(exc.status or 0, _status_message(exc)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            host = self.api_client.configuration.host
            raise ClusterUnavailable(
                f"The Kubernetes API at {host} is unreachable: {exc}."
            ) from exc


def _status_message(exc: ApiException) -> str:
    """The `message` of a Kubernetes Status body, else the HTTP reason."""
    try:
        body = json.loads(exc.body or "{}")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (json.JSONDecodeError, TypeError):
        pass
    return f"{exc.status} {exc.reason}"
