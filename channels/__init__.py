"""Channel adapters (importable as `hotline.channels`): one module per platform.

Each adapter verifies, parses and normalizes a platform's real wire format into the intake
schema, and builds the acknowledgement the platform expects. Adapters know nothing of
routing, tickets or the database.
"""
