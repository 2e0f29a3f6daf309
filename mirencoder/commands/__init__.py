"""Thin CLI command modules of the training side (listed in mirencoder/cli.py)."""
