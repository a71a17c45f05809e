"""Authentication: SASL mechanisms (pure, no I/O) and the credentials they check."""
