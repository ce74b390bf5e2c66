"""The agents' web console: static pages served at /console/, talking only to the REST API."""
