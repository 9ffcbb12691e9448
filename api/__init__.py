"""The command line, the FastAPI app and the maps."""
