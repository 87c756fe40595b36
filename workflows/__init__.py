"""The workflow engine and one package per workflow."""
