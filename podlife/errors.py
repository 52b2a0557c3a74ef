"""The errors that end a scenario without a verdict.

A verdict comes only from a measurement that ran as intended.  When the set-up fails (an
image the cluster cannot get, an API call refused, a pod of the subject that never starts,
a node podlife cannot reach) the scenario ends with one of these: pytest reports it as an
error, and no report ever calls it "refuted" or "confirmed".
"""


class SetupError(RuntimeError):
    """The scenario could not run as intended: no verdict."""
