"""Deploy Assistant: why a Kubernetes rollout failed, told to the developer who merged."""

__version__ = "0.1.0"
