"""Command modules of ``mirencoder dataset ...`` (thin: parse, build the config, call)."""
