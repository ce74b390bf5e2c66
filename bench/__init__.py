

def use_uvloop() -> None:
    """Run the benchmark's event loop on uvloop when it is installed, as hotline's processes do."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - e.g. Windows
        return
    uvloop.install()
