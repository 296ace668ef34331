"""mwaadeps: lock, bundle, test and deploy Python dependencies for Amazon MWAA."""

__version__ = "0.1.0"
