"""The test suite's one in-memory model store."""

from __future__ import annotations

import numpy as np

from mlcore.errors import ModelNotFoundError
from mlcore.interfaces import ModelArtifact


class MemoryModelStore:
    """A :class:`mlcore.interfaces.ModelStore` in memory (versions ``v1``, ``v2``, ...).

    The one in-memory store of the tests. ``fail_loading`` holds versions whose
    ``load`` raises; ``loads`` counts calls to ``load``.
    """

    def __init__(self) -> None:
        self.kept: dict[str, list[tuple[str, ModelArtifact]]] = {}
        self.current: dict[str, str] = {}
        self.fail_loading: set[str] = set()
        self.loads = 0

    def publish(self, tenant: str, artifact: ModelArtifact) -> str:
        versions = self.kept.setdefault(tenant, [])
        version = f"v{len(versions) + 1}"
        # Copies, like a real store: nothing the publisher changes later leaks in.
        arrays = {name: np.array(array, copy=True) for name, array in artifact.arrays.items()}
        versions.append((version, ModelArtifact(dict(artifact.manifest), arrays)))
        self.current[tenant] = version
        return version

    def load(self, tenant: str, version: str | None = None) -> ModelArtifact:
        self.loads += 1
        wanted = version or self.current.get(tenant)
        if wanted in self.fail_loading:
            raise OSError(f"cannot read version {wanted}")
        for name, artifact in self.kept.get(tenant, []):
            if name == wanted:
                return artifact
        raise ModelNotFoundError(f"no version {wanted} of tenant {tenant}")

    def tenants(self) -> list[str]:
        return sorted(self.current)

    def versions(self, tenant: str) -> list[str]:
        return [name for name, _ in self.kept.get(tenant, [])]

    def current_version(self, tenant: str) -> str | None:
        return self.current.get(tenant)

    def rollback(self, tenant: str, version: str) -> None:
        if version not in self.versions(tenant):
            raise ModelNotFoundError(f"no version {version} of tenant {tenant}")
        self.current[tenant] = version
