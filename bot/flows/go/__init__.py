"""G4, go: the prompt at the start, the go modal, the last health check."""
