"""The command line: app and main (the error boundary), options, a module per command group."""
