"""podlife's web service: the tutorial chapter's Go web app rebuilt in Python, without its defects.

Same API and env names as the chapter (so its curl transcript and pod spec work unchanged); unlike the
original, a 200 on /write means the line is committed, database trouble is a 503 instead of a silent lie,
and /quit's reply is delivered in full before the process exits with a distinctive status.
"""
