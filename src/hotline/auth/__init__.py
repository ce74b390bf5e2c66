"""Who may do what: principals, API keys, console logins, scopes."""
