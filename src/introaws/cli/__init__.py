"""The command line: Typer apps that parse, call a workflow, and render. No AWS logic here.

``app.main`` is the one error boundary; ``render`` is the only module that prints.
"""
