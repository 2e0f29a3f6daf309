"""Feature sets ("featurizers") that turn evaluation programs into fixed-size vectors."""
