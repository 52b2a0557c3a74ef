"""podlife: measure what Kubernetes pods really do, claim by claim.

The package holds the machinery (cluster provisioning, images, waiting, evidence,
reports) so that the scenarios under ``scenarios/`` can read like the chapter.
"""
