"""The exception tree. Exceptions mean "could not do my job"; a failed rollout is a value.

    DeployAssistantError            the tool's own failure (exit 4)
    ├── ConfigError                 bad input, settings or usage (exit 2)
    │   └── SnapshotError           a snapshot file that cannot be read
    └── UnavailableError            an outside system did not answer as needed (exit 4)
        ├── ClusterUnavailable      Kubernetes API unreachable, forbidden, or gone mid-wait
        ├── LLMUnavailable          the model failed, timed out or answered out of contract
        ├── NotifyUnavailable       Slack or GitLab refused or failed
        └── StoreUnavailable        the database failed

Every message is one sentence a developer can act on; the CLI prints it as is.
"""

from __future__ import annotations


class DeployAssistantError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 4


class ConfigError(DeployAssistantError):
    exit_code = 2


class SnapshotError(ConfigError):
    pass


class UnavailableError(DeployAssistantError):
    exit_code = 4


class ClusterUnavailable(UnavailableError):
    pass


class LLMUnavailable(UnavailableError):
    pass


class NotifyUnavailable(UnavailableError):
    pass


class StoreUnavailable(UnavailableError):
    pass
