"""Image references and the container runtime's pull errors, worded as containerd reports them."""

from __future__ import annotations

import hashlib
import re

# The distribution reference grammar, simplified: lower-case path, optional tag and digest.
_REFERENCE = re.compile(
    r"^(?:[a-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


def is_valid_reference(image: str) -> bool:
    return bool(_REFERENCE.match(image))


def qualified(image: str) -> str:
    """`nginx:1.27` → `docker.io/library/nginx:1.27`, as containerd names it."""
    first = image.split("/", 1)[0]
    has_registry = "/" in image and ("." in first or ":" in first or first == "localhost")
    if has_registry:
        named = image
    elif "/" in image:
        named = f"docker.io/{image}"
    else:
        named = f"docker.io/library/{image}"
    last = named.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        named += ":latest"
    return named


def _parts(image: str) -> tuple[str, str, str]:
    """(registry, repository, tag) of a qualified reference."""
    named = qualified(image)
    registry, rest = named.split("/", 1)
    repo, _, tag = rest.partition(":")
    return registry, repo, tag or "latest"


def digest(image: str) -> str:
    """The image ID the runtime reports after a pull (a stable fake digest)."""
    value = hashlib.sha256(qualified(image).encode()).hexdigest()
    return f"{qualified(image).rsplit(':', 1)[0]}@sha256:{value}"


def invalid_reference_message(image: str) -> str:
    return (
        f'Failed to apply default image tag "{image}": couldn\'t parse image reference '
        f'"{image}": invalid reference format'
    )


def pull_error_message(kind: str, image: str) -> str:
    """The CRI error text for one failed pull of `image`."""
    ref = qualified(image)
    registry, repo, tag = _parts(image)
    head = f'failed to pull and unpack image "{ref}"'
    if kind == "not_found":
        return (
            f'rpc error: code = NotFound desc = {head}: failed to resolve reference "{ref}": '
            f"{ref}: not found"
        )
    if kind == "unauthorized":
        scope = repo.replace("/", "%2F")
        return (
            f'rpc error: code = Unknown desc = {head}: failed to resolve reference "{ref}": '
            "failed to authorize: failed to fetch oauth token: unexpected status from GET request "
            f"to https://{registry}/token?scope=repository%3A{scope}%3Apull&service={registry}: "
            "401 Unauthorized"
        )
    if kind == "transient":
        return (
            f"rpc error: code = Unknown desc = {head}: failed to copy: httpReadSeeker: failed "
            f"open: unexpected status code https://{registry}/v2/{repo}/manifests/{tag}: 429 Too "
            "Many Requests - Server message: toomanyrequests: You have reached your pull rate "
            "limit. You may increase the limit by authenticating and upgrading: "
            "https://www.docker.com/increase-rate-limit"
        )
    return (
        f'rpc error: code = DeadlineExceeded desc = {head}: failed to resolve reference "{ref}": '
        f'failed to do request: Head "https://{registry}/v2/{repo}/manifests/{tag}": dial tcp '
        "10.20.30.40:443: i/o timeout"
    )


def start_error_message(kind: str, command: str) -> str:
    """The runc error a failed StartContainer reports (exit code 128)."""
    cause = {
        "not_found": f'exec: "{command}": executable file not found in $PATH',
        "permission": f'exec: "{command}": permission denied',
        "exec_format": f"exec {command}: exec format error",
    }[kind]
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        f"failed: runc create failed: unable to start container process: {cause}: unknown"
    )


def go_duration(seconds: float) -> str:
    """`10s`, `1m20s`, `5m0s`, as Go prints a time.Duration."""
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"
