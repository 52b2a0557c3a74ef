"""The service's tests (a package so that its helpers import as ``tests.pg`` and ``tests.service_proc``)."""
