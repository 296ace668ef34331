"""Requirements files: the parser (pip syntax), the MWAA lint rules, and fix."""
