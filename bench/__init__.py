"""The service's load benchmark (issue 7): ``python -m bench``; see bench/run.py and bench/RESULTS.md."""
