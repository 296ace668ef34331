"""Building the bundle: constraints, resolution (lock), wheels, sdists, and dist/."""
