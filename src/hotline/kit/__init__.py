"""Infrastructure shared by every domain: settings, database, bus, clock, errors, logging.

The kit imports no domain package.
"""
