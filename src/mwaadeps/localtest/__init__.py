"""Testing the bundle locally: the MWAA-like runner image and the run in its container."""
