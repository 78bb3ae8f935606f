"""Hand-built RawContext fixtures in Kubernetes API JSON shape (fake values only)."""

from __future__ import annotations

from typing import Any

from deploy_assistant.models import FieldChange, LogEntry, RawContext, Target, Verdict

DB_PASSWORD = "Tr0ub4dor-fake-9931"

JAVA_TRACE = """\
2026-11-27T10:00:03.120Z ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed
org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSource'
\tat o.s.beans.factory.support.AbstractBeanFactory.doGetBean(AbstractBeanFactory.java:333)
\tat org.springframework.boot.SpringApplication.run(SpringApplication.java:1354)
\tat com.shop.checkout.CheckoutApplication.main(CheckoutApplication.java:12)
Caused by: org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to get JDBC Connection
\tat org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)
\t... 12 more
Caused by: java.net.UnknownHostException: postgres.shop-db.svc: Name or service not known
\tat java.base/java.net.InetAddress.getAllByName0(InetAddress.java:1380)
\t... 25 more"""

DEEPEST_CAUSE = (
    "Caused by: java.net.UnknownHostException: postgres.shop-db.svc: Name or service not known"
)
TERMINATION_MESSAGE = "Application run failed: UnknownHostException postgres.shop-db.svc"


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "shop", "uid": f"uid-{name}", **extra}


def _template(image: str) -> dict[str, Any]:
    return {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "env": [
                        {"name": "DB_PASSWORD", "value": DB_PASSWORD},
                        {"name": "LOG_LEVEL", "value": "info"},
                    ],
                }
            ]
        }
    }


def deployment(revision: str = "3") -> dict[str, Any]:
    annotations = {
        "deployment.kubernetes.io/revision": revision,
        "kubectl.kubernetes.io/last-applied-configuration": '{"env": "' + DB_PASSWORD + '"}',
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("checkout", annotations=annotations),
        "spec": {"replicas": 2, "template": _template("registry.example.com/checkout:1.4.0")},
        "status": {
            "replicas": 3,
            "updatedReplicas": 1,
            "unavailableReplicas": 1,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"},
            ],
        },
    }


def replicaset(name: str, revision: str, image: str) -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "metadata": _meta(name, annotations={"deployment.kubernetes.io/revision": revision}),
        "spec": {"template": _template(image)},
    }


def pod(name: str, owner: str, statuses: list[dict[str, Any]], **status: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": _meta(name, ownerReferences=[{"kind": "ReplicaSet", "name": owner}]),
        "spec": _template("registry.example.com/checkout:1.4.0")["spec"] | {"nodeName": "node-a"},
        "status": {"phase": status.get("phase", "Running"), "containerStatuses": statuses}
        | {k: v for k, v in status.items() if k != "phase"},
    }


def crashing_status(reason: str = "Error", exit_code: int = 1, message: str = "") -> dict[str, Any]:
    terminated: dict[str, Any] = {"exitCode": exit_code, "reason": reason}
    if message:
        terminated["message"] = message
    return {
        "name": "app",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s"}},
        "lastState": {"terminated": terminated},
    }


HEALTHY_STATUS = {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}


def event(
    reason: str, message: str, obj: str, kind: str = "Warning", count: int = 1
) -> dict[str, Any]:
    return {
        "kind": "Event",
        "involvedObject": {"kind": "Pod", "name": obj},
        "reason": reason,
        "message": message,
        "type": kind,
        "count": count,
        "firstTimestamp": "2026-11-27T10:00:00Z",
        "lastTimestamp": "2026-11-27T10:02:00Z",
    }


CACHE_LINE = "INFO 1 --- [main] c.s.Cache : warmed entry {entry} in {ms}ms"


def crash_loop_context(noise_lines: int = 50) -> RawContext:
    noise = "\n".join(
        f"2026-11-27T10:00:0{i % 10}.000Z {CACHE_LINE.format(entry=i, ms=i % 7)}"
        for i in range(noise_lines)
    )
    log = (
        "2026-11-27T10:00:00.001Z INFO 1 --- [main] c.s.CheckoutApplication : Starting v1.4.0\n"
        f"2026-11-27T10:00:00.002Z INFO connecting to postgres with password={DB_PASSWORD}\n"
        f"{noise}\n{JAVA_TRACE}\n"
    )
    return RawContext(
        target=Target(namespace="shop", deployment="checkout"),
        verdict=Verdict(status="FAILED", rule="CRASH_LOOP", message="pod crash-looping"),
        deployment=deployment(),
        replicasets=(
            replicaset("checkout-new", "3", "registry.example.com/checkout:1.4.0"),
            replicaset("checkout-old", "2", "registry.example.com/checkout:1.3.9"),
        ),
        pods=(
            pod(
                "checkout-new-abcde", "checkout-new", [crashing_status(message=TERMINATION_MESSAGE)]
            ),
            pod("checkout-old-fghij", "checkout-old", [HEALTHY_STATUS]),
        ),
        events=(
            event(
                "BackOff", "Back-off restarting failed container app", "checkout-new-abcde", count=9
            ),
            event(
                "BackOff", "Back-off restarting failed container app", "checkout-new-abcde", count=3
            ),
            event("Pulled", "Successfully pulled image", "checkout-new-abcde", kind="Normal"),
        ),
        logs=(
            LogEntry(pod="checkout-new-abcde", container="app", previous=True, text=log),
            LogEntry(
                pod="checkout-old-fghij",
                container="app",
                text=f"2026-11-27T09:00:00.000Z {CACHE_LINE.format(entry=1, ms=2)}\n" * 5,
            ),
        ),
        rollout_diff=(
            FieldChange(
                field="container/app.image",
                before="registry.example.com/checkout:1.3.9",
                after="registry.example.com/checkout:1.4.0",
            ),
        ),
    )


def oom_context() -> RawContext:
    log = "".join(f"INFO loaded batch {i} of 400 into memory\n" for i in range(300))
    return RawContext(
        target=Target(namespace="shop", deployment="checkout"),
        deployment=deployment(),
        replicasets=(replicaset("checkout-new", "3", "registry.example.com/checkout:1.4.0"),),
        pods=(pod("checkout-new-oomkd", "checkout-new", [crashing_status("OOMKilled", 137)]),),
        events=(
            event("BackOff", "Back-off restarting failed container app", "checkout-new-oomkd"),
        ),
        logs=(LogEntry(pod="checkout-new-oomkd", container="app", previous=True, text=log),),
    )


SCHEDULER_MESSAGE = (
    "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)


def pending_context() -> RawContext:
    pending = pod(
        "checkout-new-pendg",
        "checkout-new",
        [],
        phase="Pending",
        conditions=[
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": SCHEDULER_MESSAGE,
            }
        ],
    )
    return RawContext(
        target=Target(namespace="shop", deployment="checkout"),
        deployment=deployment(),
        replicasets=(replicaset("checkout-new", "3", "registry.example.com/checkout:1.4.0"),),
        pods=(pending,),
        events=(event("FailedScheduling", SCHEDULER_MESSAGE, "checkout-new-pendg", count=14),),
    )


def buried_root_cause_context(noise_lines: int = 5000) -> RawContext:
    """The root cause (a Java trace) comes first, then a long cascade of retries and noise."""
    raw = crash_loop_context(noise_lines=0)
    cascade = "".join(
        f"2026-11-27T10:01:{i % 60:02d}.000Z WARN 1 --- [pool-{i % 4}] c.s.Retry : attempt {i} "
        f"failed, retrying in {i % 5 + 1}s\n"
        f"2026-11-27T10:01:{i % 60:02d}.500Z {CACHE_LINE.format(entry=i, ms=i % 9)}\n"
        for i in range(noise_lines // 2)
    )
    text = f"{JAVA_TRACE}\n{cascade}2026-11-27T10:02:00.000Z ERROR shutting down: giving up\n"
    crash = raw.logs[0].model_copy(update={"text": text})
    return raw.model_copy(update={"logs": (crash, raw.logs[1])})
