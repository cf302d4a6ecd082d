"""Training entry points and configs (installed as ``restore.train``)."""
