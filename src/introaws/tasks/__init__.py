"""Code that runs inside the cloud (Lambda handlers, containers); never imports the CLI."""
