"""Cluster and service plumbing: local Ray, MLflow tracking server, environment."""
