"""The gateway: HTTP endpoints for every channel adapter, publishing to the intake bus."""
