"""Traffic's periodic jobs; thin: the services do the work."""
