"""Small adapters for the outside world, picked by configuration."""
