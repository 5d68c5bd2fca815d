"""Provider clients (one module each) and the tenant's provider registry."""


def provider_status() -> list[dict]:
    """See processing.providers.registry.provider_status (imported lazily: models load after apps)."""
    from processing.providers.registry import provider_status as _status

    return _status()
