"""What maintainers run (each module says what it does); no notebook imports it."""
