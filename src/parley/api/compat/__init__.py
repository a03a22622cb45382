"""The seed systems' own REST paths and shapes, translated to the canonical services."""
