"""The chapter's own roles: its web app's four endpoints (``/ping``, ``/write``, ``/read``,
``/quit``) reached as a black box.  Generic code (``podlife.profile``) does not use this room."""
