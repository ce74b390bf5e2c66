"""Operations: the figures the metrics endpoint reads from the database."""
