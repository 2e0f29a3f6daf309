"""Downstream evaluation: device mapping and thread coarsening with the published protocols."""
