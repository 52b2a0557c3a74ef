"""podlife's and the service's tests (a package: scenario modules import as ``scenarios.*`` beside it)."""
