"""Network architectures (installed as ``restore.models``)."""
