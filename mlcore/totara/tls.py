"""The one TLS-verification decision towards Totara, for downloads and the health check."""

from __future__ import annotations

from pathlib import Path

from mlcore.config import Settings
from mlcore.errors import ConfigError, quoted


def tls_verify(settings: Settings) -> bool | str:
    """The ``requests`` ``verify=`` value: False on explicit opt-out
    (``ML_TLS_VERIFY=false``), else the CA bundle (``ML_CA_BUNDLE``) or True.

    Raises:
        ConfigError: ``ML_CA_BUNDLE`` names a file that does not exist.
    """
    if not settings.tls_verify:
        return False
    if settings.ca_bundle:
        if not Path(settings.ca_bundle).is_file():
            raise ConfigError(f"ML_CA_BUNDLE {quoted(settings.ca_bundle)} is not a readable file")
        return settings.ca_bundle
    return True
