"""Government units a ticket is dispatched to: city departments, towns, streets, parks."""
