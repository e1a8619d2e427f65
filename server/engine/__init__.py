"""dagwire."""
