"""Pipeline stages: small classes with ``setup()`` once per worker and ``process()`` per item."""
