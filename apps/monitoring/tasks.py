"""Monitoring's periodic jobs and background work; thin: the services do the work."""
