"""pytest for this repository: the podlife plugin (cluster, namespaces, reports)."""

pytest_plugins = ["podlife.run.plugin"]
