"""The pytest run: the plugin (``plugin``, the one entry point, named by the repository's
``conftest.py``), the run from the process that starts it (``session``), each scenario's frame
(``scenario``), what scenarios hold of the cluster (``resources``), which process runs what
(``schedule``), progress (``progress``) and a failed scenario's evidence bundle (``evidence``).
Nothing imports it but that entry point."""
