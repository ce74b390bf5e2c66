"""Open311 GeoReport v2, the read side: what is safe to show the public about requests."""
