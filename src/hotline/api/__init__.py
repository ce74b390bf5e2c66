"""HTTP faces of hotline: the app factory, dependencies, error handling. Thin."""
