"""The normalized intake message every channel produces, and the bus that carries it."""
