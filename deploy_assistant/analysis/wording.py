"""The words of each family: summary, likely cause and next steps, with `{slot}` placeholders.

Slots: ns, deploy, pod, container, ctype ("container" / "init container"), subject (the object at
fault), subject_note (" (subject)" or ""), quote (the deciding message, quoted), rs.
Commands are exact so that a developer can paste them.
"""

from __future__ import annotations

from deploy_assistant.analysis import families as fam

LOGS = "`kubectl -n {ns} logs {pod} -c {container} --previous`"
DESCRIBE = "`kubectl -n {ns} describe pod {pod}`"
EVENTS = "`kubectl -n {ns} get events --sort-by=.lastTimestamp`"
UNDO = "To restore service now, roll back: `kubectl -n {ns} rollout undo deployment/{deploy}`"
FIELD = "spec.template.spec.containers[{container}]"

# family -> (summary, likely cause, next steps)
TEXT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    fam.IMAGE_NOT_FOUND: (
        "The new version never started: the container image {subject} could not be downloaded.",
        "The image {subject} does not exist in the registry (wrong tag or name, or it was never "
        "pushed).",
        (
            "Check that the image {subject} was built and pushed by the pipeline",
            "Fix the tag in `" + FIELD + ".image`",
            DESCRIBE,
            UNDO,
        ),
    ),
    fam.REGISTRY_AUTH: (
        "The new version never started: the cluster was not allowed to download the image "
        "{subject}.",
        "The registry refused access to {subject} (missing or wrong registry credentials).",
        (
            "Check `spec.template.spec.imagePullSecrets` and that the secret exists: "
            "`kubectl -n {ns} get secrets`",
            "Check the credentials in that secret can pull {subject}",
            DESCRIBE,
            UNDO,
        ),
    ),
    fam.REGISTRY_UNREACHABLE: (
        "The new version never started: the image registry for {subject} could not be reached.",
        "The cluster could not reach the registry to download {subject} (network, DNS or outage).",
        ("Retry once the registry is reachable; check its status page", DESCRIBE, UNDO),
    ),
    fam.INVALID_IMAGE_NAME: (
        "The new version never started: the image name {subject} is not a valid image reference.",
        "The image name {subject} is malformed (an empty tag, upper-case letters, or a templating "
        "bug).",
        ("Fix `" + FIELD + ".image` (form: registry/name:tag)", DESCRIBE, UNDO),
    ),
    fam.ARCH_MISMATCH: (
        "The new version crashes immediately: the image was built for a different CPU type.",
        "The image's binary was built for another CPU architecture than the node's "
        "(`exec format error`), e.g. an arm64 image on amd64 nodes.",
        (
            "Build a multi-arch image (`docker buildx build --platform linux/amd64,linux/arm64`)",
            "Compare `kubectl get nodes -L kubernetes.io/arch` with the image's platform",
            LOGS,
        ),
    ),
    fam.BAD_COMMAND: (
        "The new version could not start its program in {ctype} {container}.",
        "The start command is wrong: the program or script {subject} cannot be found or run.",
        (
            "Check `" + FIELD + ".command` and `args`, and the image's ENTRYPOINT/CMD",
            "Make sure the file exists in the image and is executable (`chmod +x`, no CRLF line "
            "endings)",
            DESCRIBE,
        ),
    ),
    fam.MISSING_CONFIG_REF: (
        "The new version never started: it refers to configuration that does not exist.",
        "The {ctype} {container} needs {subject}, which does not exist in namespace {ns}.",
        (
            "Create it or fix the name: `kubectl -n {ns} get configmaps,secrets`",
            "Check `" + FIELD + ".env` / `envFrom` for the reference",
            DESCRIBE,
            UNDO,
        ),
    ),
    fam.RUN_AS_NON_ROOT: (
        "The new version never started: its image runs as root but the pod forbids that.",
        "The pod sets runAsNonRoot but the image's user is root or not numeric.",
        (
            "Set a numeric non-root user: `spec.template.spec.securityContext.runAsUser: 10001`",
            "Or add `USER 10001` to the Dockerfile",
            DESCRIBE,
        ),
    ),
    fam.MISSING_VOLUME_SOURCE: (
        "The new pods are stuck before starting: a volume could not be mounted.",
        "A volume of the pod cannot be set up: {subject} is missing or not ready.",
        (
            "Check `spec.template.spec.volumes` and that the referenced object exists: "
            "`kubectl -n {ns} get configmaps,secrets,pvc`",
            DESCRIBE,
        ),
    ),
    fam.VOLUME_ATTACH_CONFLICT: (
        "The new pods are stuck before starting: their disk is still held by another pod.",
        "The disk {subject} can be attached to one node at a time and is still attached elsewhere "
        "(Multi-Attach) — usually the old pod during a rolling update.",
        (
            "Use `strategy.type: Recreate` for single-writer disks, or a ReadWriteMany volume",
            "Wait for the old pod to release it, or delete the old pod",
            DESCRIBE,
        ),
    ),
    fam.PVC_PENDING: (
        "The new pods cannot be placed: the storage they need is not available.",
        "The pod's storage claim ({subject}) is not bound to any storage volume.",
        (
            "`kubectl -n {ns} get pvc` and `kubectl -n {ns} describe pvc`",
            "Check the claim's storageClassName exists: `kubectl get storageclass`",
        ),
    ),
    fam.APP_CRASH_STARTUP: (
        "The new version starts and then crashes with an error in {ctype} {container}.",
        "The {ctype} {container} fails during startup: {quote}",
        (
            "Read the crash: " + LOGS,
            "Fix the error in the code or its configuration and redeploy",
            UNDO,
        ),
    ),
    fam.APP_CRASH_STARTUP + ":exit": (
        "The new version starts and then crashes in {ctype} {container}.",
        "The {ctype} {container} exits with an error ({quote}, {subject}) during startup; its "
        "log was not available, so the exact error is unknown.",
        ("Read the crash: " + LOGS, DESCRIBE, UNDO),
    ),
    fam.MISSING_ENV_CONFIG: (
        "The new version crashes at startup because a setting it needs is missing.",
        "The application stops because a required setting ({subject}) is missing or invalid: "
        "{quote}",
        ("Add it under `" + FIELD + ".env`", "Read the full error: " + LOGS, UNDO),
    ),
    fam.PROCESS_EXITS_NORMALLY: (
        "The new version's program exits right after starting, so Kubernetes keeps restarting it.",
        "The main process of {container} finishes with exit code 0 (Completed) instead of running "
        "as a server.",
        (
            "Check the image's CMD / `" + FIELD + ".command` runs a long-lived server",
            "One-off tasks belong in a Job, not a Deployment",
            LOGS,
        ),
    ),
    fam.DEPENDENCY_UNREACHABLE: (
        "The new version crashes at startup because it cannot reach a service it depends on.",
        "The application cannot connect to {subject} when it starts: {quote}",
        (
            "Check the address and that the dependency is up: `kubectl -n {ns} get svc,endpoints`",
            "Read the full error: " + LOGS,
            UNDO,
        ),
    ),
    fam.OOM_KILLED: (
        "The new version runs out of memory and is killed (OOMKilled).",
        "Container {container} uses more memory than its limit{subject_note} allows, so the "
        "kernel kills it.",
        (
            "Raise `" + FIELD + ".resources.limits.memory` or reduce the app's memory use "
            "(e.g. the JVM heap)",
            DESCRIBE,
            UNDO,
        ),
    ),
    fam.LIVENESS_KILLS_SLOW_START: (
        "The new version is restarted by Kubernetes before it finishes starting.",
        "The liveness probe of {container} fails while the app is still starting, so it is killed "
        "and restarted before it becomes ready.",
        (
            "Add a `startupProbe` or raise `" + FIELD + ".livenessProbe.initialDelaySeconds`",
            DESCRIBE,
            LOGS,
        ),
    ),
    fam.PROBE_MISCONFIG: (
        "The new version runs, but its health check looks in the wrong place.",
        "The health-check probe of {container} points at a wrong path or port{subject_note}: "
        "{quote}",
        (
            "Fix `" + FIELD + ".readinessProbe` / `livenessProbe` (httpGet.path, port) to match "
            "the app",
            DESCRIBE,
        ),
    ),
    fam.INSUFFICIENT_RESOURCES: (
        "The new pods cannot be placed: the cluster has no room for them.",
        "No node has enough free capacity ({subject}) for the pod's requests.",
        (
            "Lower `" + FIELD + ".resources.requests` or add nodes",
            "`kubectl describe nodes` shows what is allocated",
            DESCRIBE,
        ),
    ),
    fam.TAINTS_AFFINITY: (
        "The new pods cannot be placed: no node matches their placement rules.",
        "The pod's placement rules exclude every node ({subject}).",
        (
            "Check `spec.template.spec.nodeSelector`, `affinity` and `tolerations`",
            "`kubectl get nodes --show-labels`",
            DESCRIBE,
        ),
    ),
    fam.QUOTA_EXCEEDED: (
        "The new pods were not created: the namespace's resource quota is used up.",
        "The resource quota {subject} in namespace {ns} does not allow more pods of this size.",
        (
            "`kubectl -n {ns} describe resourcequota`",
            "Lower the pod's requests/limits, raise the quota, or use `maxSurge: 0`",
        ),
    ),
    fam.ADMISSION_WEBHOOK: (
        "The new pods were not created: a cluster policy webhook refused or failed.",
        "The admission webhook {subject} rejected the pods or did not answer.",
        (
            "Read the policy message in the event and change the pod spec to comply",
            "`kubectl get validatingwebhookconfigurations`",
            "`kubectl -n {ns} describe rs`",
        ),
    ),
    fam.PODSECURITY_VIOLATION: (
        "The new pods were not created: they break the namespace's security policy.",
        "The pod spec violates PodSecurity {subject}; the event lists the fields to set.",
        (
            "Set the listed `securityContext` fields in the pod template",
            "`kubectl get ns {ns} --show-labels` shows the enforced level",
        ),
    ),
    fam.CREATE_FORBIDDEN: (
        "The new pods were not created: the cluster refused to create them.",
        "The pod creation was refused: {quote}",
        ("`kubectl -n {ns} describe rs`", "Fix what the message names"),
    ),
    fam.FS_PERMISSION_DENIED: (
        "The new version crashes at startup because it is not allowed to write a file.",
        "The application is denied access to {subject} (read-only filesystem or wrong user): "
        "{quote}",
        (
            "Mount a writable `emptyDir` there, or fix `spec.template.spec.securityContext` "
            "(runAsUser, fsGroup, readOnlyRootFilesystem)",
            LOGS,
        ),
    ),
    fam.PORT_IN_USE: (
        "The new version crashes at startup because its network port is already taken.",
        "Port {subject} is already in use (another container in the pod, or hostNetwork).",
        ("Give each container its own port in `" + FIELD + ".ports`", LOGS),
    ),
    fam.INIT_CONTAINER_FAILURE: (
        "The new pods are stuck: the setup step (init container {container}) keeps failing.",
        "The init container {container} exits with an error (exit code {subject}), so the app "
        "never starts. {quote}",
        ("Read its log: `kubectl -n {ns} logs {pod} -c {container} --previous`", DESCRIBE),
    ),
    fam.INIT_CONTAINER_FAILURE + ":waiting": (
        "The new pods are stuck: the setup step (init container {container}) is still waiting.",
        "The init container {container} waits for something that never becomes ready, so the "
        "app never starts: {quote}",
        (
            "Read its log: `kubectl -n {ns} logs {pod} -c {container}`",
            "Check that the service it waits for exists and is up: `kubectl -n {ns} get svc,pods`",
        ),
    ),
    fam.SANDBOX_NETWORK_FAILURE: (
        "The new pods are stuck: the node could not set up their network.",
        "The node's network plugin failed to create the pod's network (a cluster problem, not "
        "the app).",
        (
            "Tell the cluster administrators; `kubectl -n {ns} get pods -o wide` shows the node",
            DESCRIBE,
        ),
    ),
    fam.PROGRESS_DEADLINE: (
        "The rollout timed out: the new version did not become ready in time.",
        "The deployment exceeded its progress deadline; the snapshot holds no pod-level cause.",
        (
            "Look at the new pods: `kubectl -n {ns} get pods`, then "
            "`kubectl -n {ns} describe pod <pod name>`",
            "`kubectl -n {ns} rollout status deployment/{deploy}`",
        ),
    ),
    fam.INSUFFICIENT_EVIDENCE: (
        "The rollout failed, but the collected data does not show why.",
        "Not enough evidence to name a cause.",
        ("`kubectl -n {ns} get pods`", "`kubectl -n {ns} describe deployment {deploy}`", EVENTS),
    ),
}
