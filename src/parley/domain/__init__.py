"""The domain core: services that decide, validate and persist. No web framework in here."""
